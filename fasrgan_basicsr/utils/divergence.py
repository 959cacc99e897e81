"""A training whose loss became NaN or infinite: the error it stops with (exit status 3) and its message."""


class DivergenceError(RuntimeError):
    """A loss became NaN or infinite; training stopped without saving."""


def divergence_message(term, iteration, models_dir):
    return (f'loss term {term} became non-finite at iteration {iteration}: training stopped before saving anything. '
            f'The newest checkpoint in {models_dir} is the last good one.')
