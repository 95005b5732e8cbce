"""Give a KFP wrapper's parameters their step config's defaults without restating them.

KFP builds a lightweight component's interface (its inputs, which are optional, their default
values) from ``inspect.signature`` of the wrapper, but ships the wrapper's *source text* to the
pod, where only ``kfp`` and ``typing`` are imported: a default written as ``epochs: int =
TrainConfig.epochs`` would raise ``NameError`` there. So each wrapper is written without defaults
and ``@signature_defaults(epochs=TrainConfig.epochs, ...)``, applied under ``@dsl.component``,
records them in the wrapper's ``__signature__``: the compiled component declares exactly the
config's defaults, and both runners hand every declared default to the pod (kfp.local fills
them in; ``pipelines/training.py`` passes every wrapper parameter explicitly, so a cluster never
has to).
"""

import inspect
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def signature_defaults(**defaults: object) -> Callable[[F], F]:
    """Returns a decorator that gives ``func``'s parameters named in ``defaults`` those defaults.

    Raises:
        TypeError: a name that is not a parameter of the function.
        ValueError: a parameter without a default after one with a default.
    """

    def apply(func: F) -> F:
        signature = inspect.signature(func)
        unknown = set(defaults) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{func.__name__} has no parameters {sorted(unknown)}")
        parameters = [
            parameter.replace(default=defaults[name]) if name in defaults else parameter
            for name, parameter in signature.parameters.items()
        ]
        func.__signature__ = signature.replace(parameters=parameters)
        return func

    return apply
