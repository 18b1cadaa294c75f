"""partita on Dask: when one machine is not enough.

Needs ``dask[array,distributed]`` (``pip install "partita[dask]"``).

:class:`ParallelPostFit`
    predict / transform / predict_proba / score of any fitted partita estimator on a Dask
    array, chunk by chunk.
:class:`CLARA`
    :class:`partita.CLARA` with the candidate medoids scored where the chunks live; the
    same medoids, labels and losses bit for bit.
:func:`sinkhorn`
    Sinkhorn scaling with the rows of the cost matrix on the workers, one long task per worker
    exchanging the column sums directly (a small communicator interface, ``_comm``).
:class:`KernelKMeans`
    :class:`partita.KernelKMeans` with X on every worker and each worker owning a block of
    Gram rows; the same labels, centres and inertia bit for bit.
:class:`SinkhornKMeans`
    :class:`partita.SinkhornKMeans` with its distances, assignments and centre sums on the
    workers.
"""

try:
    import dask.array  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'partita.dask needs dask[array,distributed]: pip install "partita[dask]"'
    ) from error

from ._kernel_kmeans import KernelKMeans
from ._medoids import CLARA
from ._post_fit import ParallelPostFit
from ._sinkhorn_kmeans import SinkhornKMeans
from ._transport import sinkhorn

__all__ = ["ParallelPostFit", "CLARA", "KernelKMeans", "SinkhornKMeans", "sinkhorn"]
