"""What distributed training needs below the models: DDP's device ids and a flag all ranks agree on."""
import torch
import torch.distributed as dist


def ddp_device_ids(device):
    """DistributedDataParallel's ``device_ids`` for a module on ``device``: the current CUDA device, none on the CPU."""
    return [torch.cuda.current_device()] if device.type == 'cuda' else None


class Agreement:
    """A 0/1 flag agreed across the ranks of a process group (itself when not distributed), over gloo.

    The collective runs on a gloo group of its own (created on first use), so it works whatever the
    training backend (NCCL included) and costs no GPU synchronisation.
    """

    def __init__(self):
        self.group = None

    def __call__(self, flag, op='max'):
        """``flag`` agreed: any rank's 1 (``op='max'``) or rank 0's (``op='broadcast'``)."""
        if not (dist.is_available() and dist.is_initialized()):
            return flag
        if self.group is None:
            self.group = dist.new_group(backend='gloo')
        t = torch.tensor([flag], dtype=torch.int32)
        if op == 'max':
            dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.group)
        else:
            dist.broadcast(t, src=0, group=self.group)
        return int(t.item())


#: the agreement of this process's run
agreed = Agreement()
