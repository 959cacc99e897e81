"""State-dict layouts of other codebases: recognised by their keys and shapes, mapped onto this project's names.

The one checkpoint loader (:mod:`.checkpoint`) sits below the architectures, so it cannot know them. The
architectures declare the foreign layouts they can take instead: ``archs/`` registers each one here
(:func:`register`, on ``import fasrgan_basicsr``), and the loader asks :func:`identify` for every checkpoint it
reads. A layout either maps onto this project's key names (``to_project``) — the checkpoint then loads wherever
this project's own checkpoints load (BasicSR's ``pretrain_network_g``, ``fasrgan-infer``, ``fasrgan-export``) —
or is only recognised (``to_project`` is None: one half of a pair, a discriminator), so that every entry point
can say in one line what the file is and what to do with it.
"""
from dataclasses import dataclass
from typing import Callable, Mapping, Optional


@dataclass(frozen=True)
class StateLayout:
    """One foreign state-dict layout.

    Attributes:
        name (str): Short identifier (``'release-rrdbnet'``).
        description (str): What a file of this layout is, as a phrase for messages ("the authors' release ...").
        matches (callable): ``state -> bool``; must look at key names and shapes only.
        to_project (callable | None): ``state -> state`` under this project's names (raise ``ValueError`` with
            a reason when a matching file cannot be mapped); None: recognised, not loadable on its own.
        advice (str): For a file that is not loadable on its own: what to do with it (one sentence).
    """
    name: str
    description: str
    matches: Callable[[Mapping], bool]
    to_project: Optional[Callable[[Mapping], dict]] = None
    advice: str = ''


_LAYOUTS = {}


def register(layout):
    """Add ``layout`` (a :class:`StateLayout`); one of the same name is replaced. Returns it."""
    _LAYOUTS[layout.name] = layout
    return layout


def registered():
    """The registered layouts, in registration order."""
    return list(_LAYOUTS.values())


def identify(state):
    """The registered :class:`StateLayout` that ``state`` matches, or None (this project's own layouts)."""
    for layout in _LAYOUTS.values():
        if layout.matches(state):
            return layout
    return None
