"""Submit a compiled pipeline package to a Kubeflow Pipelines endpoint, once or on a schedule.

``household-sounds compile`` writes the IR YAML; this module sends it through ``kfp.Client``
(``create_run_from_pipeline_package`` for one run, ``create_recurring_run`` for a cron schedule)
after checking the ``--param k=v`` arguments against the parameters the package declares
(``pipelines.package``), so a typo or a wrong type fails here rather than minutes later in a pod.
``KfpAuth`` carries what a
multi-user Kubeflow asks of an API client: a bearer token (a Dex ``id_token``, or an IAP
identity token), the session cookie of an auth proxy (Dex's ``authservice_session``,
oauth2-proxy's), or a projected service-account token file that is re-read on every request
(a Kubeflow notebook's). ``start`` is what ``household-sounds submit`` calls with its
``SubmitOptions``: it prints the run's URL in the KFP UI and with ``wait`` follows the run to
its final state (``pipelines.follow``); ``--vertex`` sends the same package to Vertex AI
Pipelines instead (``pipelines.vertex``). The client is injectable (``client_factory``) so
tests can point it at a fake KFP REST API on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pipelines.package import ParamError, check_params, declared_parameters, with_caching

if TYPE_CHECKING:
    from pipelines.vertex import VertexTarget

# kfp is imported lazily: `household-sounds --help` must not pay for it.
ClientFactory = Callable[..., Any]

# The least-privilege Kubernetes service account the pipeline's pods run as (k8s/pipeline-rbac;
# `make kind-up` applies it). `--service-account ""` falls back to KFP's default runner.
PIPELINE_SERVICE_ACCOUNT = "household-sounds-pipeline"

# The parameter that is ingest's cache key, and ingest's task in the compiled package.
FINGERPRINT = "data_fingerprint"
INGEST_TASK = "ingest"

_TRUE = {"true", "True"}
_FALSE = {"false", "False"}


def _coerce(raw: str) -> object:
    """``"3"`` → 3, ``"0.5"`` → 0.5, ``"true"`` → True, ``'["a"]'`` → list, else the string."""
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw  # gs://bucket/x, FnApiRunner, ... are plain strings
    if value is None:
        raise ParamError("null is not a pipeline value: omit the parameter to use its default")
    return value


def parse_params(items: Iterable[str]) -> dict[str, object]:
    """Parses ``["k=v", ...]`` into a dict, coercing each value from its text.

    Values are read as JSON where they parse (``3``, ``0.5``, ``true``, ``["--a=b"]``,
    ``{"k": 1}``, ``"quoted string"``), ``True``/``False`` as booleans, and anything else as a
    plain string. Quote a value as JSON (``k='"2024"'``) to force a string.

    Raises:
        ParamError: an item without ``=``, an empty or duplicate key, or a ``null`` value.
    """
    params: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            raise ParamError(f"--param {item!r}: expected KEY=VALUE")
        if not key.isidentifier():
            raise ParamError(f"--param {item!r}: {key!r} is not a parameter name")
        if key in params:
            raise ParamError(f"--param {key} is given twice")
        try:
            params[key] = _coerce(raw)
        except ParamError as error:
            raise ParamError(f"--param {item!r}: {error}") from None
    return params


@dataclass(frozen=True)
class KfpAuth:
    """How the client proves who it is (all ``None``: no credentials, e.g. a port-forward).

    ``token`` is sent as ``Authorization: Bearer``; ``cookies`` as the ``Cookie`` header
    (``"name=value; name2=value2"``); ``token_file`` is a projected service-account token
    (``kfp.client.ServiceAccountTokenVolumeCredentials``) read anew for every request.
    """

    token: str | None = None
    cookies: str | None = None
    token_file: str | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """The ``kfp.Client`` arguments for these credentials (none when there are none)."""
        kwargs: dict[str, Any] = {}
        if self.token:
            kwargs["existing_token"] = self.token
        if self.cookies:
            kwargs["cookies"] = self.cookies
        if self.token_file:
            from kfp.client import ServiceAccountTokenVolumeCredentials

            kwargs["credentials"] = ServiceAccountTokenVolumeCredentials(self.token_file)
        return kwargs


def _client(
    client_factory: ClientFactory | None, host: str, namespace: str | None, auth: KfpAuth
) -> Any:
    if client_factory is None:
        import kfp

        client_factory = kfp.Client
    # kfp.Client's own default namespace is "kubeflow" (single-user installs ignore it).
    with contextlib.redirect_stdout(sys.stderr):  # kfp prints; stdout is the command's JSON
        return client_factory(host=host, namespace=namespace or "kubeflow", **auth.client_kwargs())


def run_url(host: str, run_id: str) -> str:
    """The run's page in the KFP UI, served beside the API (``…/pipeline/#/runs/details/ID``)."""
    return f"{host.rstrip('/')}/#/runs/details/{run_id}"


def submit(
    package_path: str,
    host: str,
    *,
    namespace: str | None,
    experiment: str,
    run_name: str | None,
    params: dict[str, object],
    enable_caching: bool | None = None,
    service_account: str | None = None,
    auth: KfpAuth | None = None,
    client_factory: ClientFactory | None = None,
) -> str:
    """Starts one run of a compiled pipeline package and returns its run id.

    Args:
        package_path: IR YAML from ``household-sounds compile``.
        host: KFP API endpoint, e.g. ``http://localhost:8080`` (a port-forwarded
            ``ml-pipeline-ui``) or a Kubeflow ``/pipeline`` URL.
        namespace: Profile namespace on multi-user Kubeflow; ``None`` for standalone KFP.
        experiment: Experiment name; created if it does not exist.
        run_name: Display name of the run (default: package name and time).
        params: Pipeline arguments, checked against the package (see ``check_params``).
        enable_caching: Turn caching on or off for the tasks compiled as cacheable, tasks
            inside loops included (``package.set_caching``); ``None`` keeps the package as it is.
        service_account: Kubernetes service account the run's pods use (e.g. one bound to a
            GCP service account through workload identity); ``None`` uses the KFP default.
        auth: Credentials for the KFP API (see ``KfpAuth``).
        client_factory: Builds the client (``kfp.Client`` by default); tests inject fakes.
    """
    arguments = check_params(package_path, params)
    client = _client(client_factory, host, namespace, auth or KfpAuth())
    with (
        with_caching(package_path, enable_caching) as package_path,
        contextlib.redirect_stdout(sys.stderr),
    ):
        result = client.create_run_from_pipeline_package(
            package_path,
            arguments=arguments,
            run_name=run_name,
            experiment_name=experiment,
            namespace=namespace,
            enable_caching=None,  # set_caching did it; kfp would rewrite evaluate and deploy
            service_account=service_account,
        )
    return str(result.run_id)


def create_recurring_run(
    package_path: str,
    host: str,
    *,
    namespace: str | None,
    experiment: str,
    name: str,
    cron: str,
    params: dict[str, object],
    max_concurrency: int = 1,
    catchup: bool = False,
    enable_caching: bool | None = None,
    service_account: str | None = None,
    auth: KfpAuth | None = None,
    client_factory: ClientFactory | None = None,
) -> str:
    """Schedules the package on a cron and returns the recurring run's id.

    ``cron`` has KFP's six fields, seconds first: ``"0 0 3 * * 1"`` is 03:00 every Monday.
    Ingest is never cached in a recurring run: its arguments, ``data_fingerprint`` included, are
    fixed when it is created, so only running ingest sees new data.
    ``catchup=False`` (the default) schedules only the latest missed interval after a pause,
    because every run retrains on the whole dataset and backfilling would repeat the same
    work. ``max_concurrency=1`` keeps two trainings from competing for the same nodes.
    Disable or delete it in the UI or with ``kfp.Client().disable_recurring_run(id)``.
    """
    if len(cron.split()) != 6:
        raise ParamError(f"cron {cron!r}: KFP expects 6 fields (seconds first), e.g. '0 0 3 * * *'")
    arguments = check_params(package_path, with_fingerprint(package_path, params, recurring=True))
    client = _client(client_factory, host, namespace, auth or KfpAuth())
    with contextlib.redirect_stdout(sys.stderr):
        created = client.create_experiment(name=experiment, namespace=namespace)
    # Every scheduled run gets the same arguments: one fingerprint cannot follow the data.
    with with_caching(package_path, enable_caching, always_run=[INGEST_TASK]) as package_path:
        recurring = client.create_recurring_run(
            experiment_id=created.experiment_id,
            job_name=name,
            cron_expression=cron,
            max_concurrency=max_concurrency,
            no_catchup=not catchup,
            params=arguments,
            pipeline_package_path=package_path,
            enable_caching=None,  # set_caching did it; kfp would rewrite evaluate and deploy
            service_account=service_account,
        )
    return str(recurring.recurring_run_id)


TOKEN_ENV = "KFP_TOKEN"
COOKIES_ENV = "KFP_COOKIES"


@dataclass(frozen=True)
class SubmitOptions:
    """Where and how ``household-sounds submit`` starts the pipeline (see ``submit``)."""

    host: str = field(default="", metadata={"help": "KFP API endpoint, e.g. http://localhost:8080"})
    package: str = field(default="", metadata={"help": "compiled YAML (default: compile now)"})
    namespace: str | None = field(
        default=None, metadata={"help": "profile namespace (multi-user KFP)"}
    )
    experiment: str = field(default="household-sounds", metadata={"help": "experiment name"})
    run_name: str | None = field(default=None, metadata={"help": "run display name"})
    caching: Literal["on", "off"] | None = field(
        default=None,
        metadata={"help": "caching of the tasks compiled as cacheable (never evaluate, deploy)"},
    )
    service_account: str = field(
        default=PIPELINE_SERVICE_ACCOUNT,
        metadata={
            "help": "Kubernetes service account of the run's pods ('' = KFP's default); with "
            "--vertex the GCP service account e-mail (default: Compute Engine's)"
        },
    )
    cron: str = field(
        default="", metadata={"help": "create a recurring run instead (6 fields, seconds first)"}
    )
    token: str | None = field(
        default=None,
        metadata={"help": f"KFP API bearer token (or ${TOKEN_ENV}, which ps does not show)"},
    )
    cookies: str | None = field(
        default=None,
        metadata={"help": f"auth proxy Cookie header: authservice_session=… (${COOKIES_ENV})"},
    )
    token_file: str | None = field(
        default=None,
        metadata={"help": "projected token file: /var/run/secrets/kubeflow/pipelines/token"},
    )
    wait: bool = field(
        default=False,
        metadata={"help": "follow the run to its end: exit 0 succeeded, 1 not, 124 timed out"},
    )
    timeout: float | None = field(
        default=None, metadata={"help": "with --wait: give up after this many seconds"}
    )
    poll: float = field(default=10.0, metadata={"help": "with --wait: seconds between checks"})
    fingerprint_from: str = field(
        default="",
        metadata={
            "help": "compute data_fingerprint from this copy of data_root's files (e.g. the "
            "host folder kind mounts; default: data_root itself)",
            "metavar": "PATH",
        },
    )
    vertex: bool = field(default=False, metadata={"help": "submit to Vertex AI Pipelines"})
    project: str = field(default="", metadata={"help": "with --vertex: GCP project"})
    region: str = field(default="", metadata={"help": "with --vertex: region, e.g. europe-west4"})
    pipeline_root: str = field(default="", metadata={"help": "with --vertex: gs:// output root"})
    vertex_endpoint: str | None = field(
        default=None, metadata={"help": "with --vertex: API endpoint (default: the region's)"}
    )


def _check(options: SubmitOptions) -> None:
    """Refuses option combinations that would be silently ignored."""
    if options.wait and options.cron:
        raise ParamError("--wait follows one run; a recurring run (--cron) has none to follow")
    if options.vertex:
        given = [
            name
            for name in ("host", "namespace", "cron", "token", "cookies", "token_file")
            if getattr(options, name)
        ]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ParamError(f"{flags}: Kubeflow options, not for --vertex (it uses Google ADC)")
    elif not options.host:
        raise ParamError("--host is required (or --vertex with --project/--region/--pipeline-root)")


def _kfp_auth(options: SubmitOptions, environ: Mapping[str, str]) -> KfpAuth:
    return KfpAuth(
        token=options.token or environ.get(TOKEN_ENV) or None,
        cookies=options.cookies or environ.get(COOKIES_ENV) or None,
        token_file=options.token_file,
    )


def with_fingerprint(
    package_path: str, params: dict[str, object], source: str = "", recurring: bool = False
) -> dict[str, object]:
    """``params`` with ``data_fingerprint`` (ingest's cache key) computed, if the package has it.

    A ``data_fingerprint`` given in ``params`` is kept (any new value forces ingest to rerun);
    a recurring run gets an empty one (its ingest always runs, see ``create_recurring_run``);
    otherwise it is the fingerprint of ``source``, else of ``data_root`` and every root of
    ``more_data_roots``, as this machine sees them (``components.ingest.fingerprint``: local or
    ``gs://``).

    Raises:
        ParamError: No ``data_root``, or the data cannot be read from here.
    """
    if FINGERPRINT not in declared_parameters(package_path) or FINGERPRINT in params:
        return params
    if recurring:
        return {**params, FINGERPRINT: ""}
    root = source or params.get("data_root")
    if not isinstance(root, str) or not root:
        raise ParamError("--param data_root=... is required")
    from components.ingest.config import DataRoot
    from components.ingest.fingerprint import fingerprint

    more = [] if source else params.get("more_data_roots") or []
    try:
        more_roots = [DataRoot.parse(entry).root for entry in more]
        return {**params, FINGERPRINT: fingerprint(root, *more_roots)}
    except (OSError, ValueError) as error:
        raise ParamError(
            f"{error}; ingest's cache key ({FINGERPRINT}) is computed from the data as this "
            "machine sees it: pass --fingerprint-from A_LOCAL_COPY, or "
            f"--param {FINGERPRINT}=ANY_NEW_VALUE"
        ) from None


def start(
    package_path: str,
    options: SubmitOptions,
    params: dict[str, object],
    environ: Mapping[str, str] = os.environ,
    client_factory: ClientFactory | None = None,
) -> tuple[dict, int]:
    """Submits the run (a recurring run with ``cron``; on Vertex with ``vertex``).

    Returns what ``household-sounds submit`` prints (ids, URL, with ``wait`` the final state)
    and the exit code (0, or ``pipelines.follow``'s code for the run's outcome).
    """
    _check(options)
    check_params(package_path, params)  # a typo fails before the data is listed
    caching = None if options.caching is None else options.caching == "on"
    if options.vertex:
        from pipelines import vertex

        target = vertex.VertexTarget(
            options.project, options.region, options.pipeline_root, options.vertex_endpoint
        )
        account = vertex_service_account(options.service_account)
        params = with_fingerprint(package_path, params, options.fingerprint_from)
        return _start_vertex(package_path, target, account, options, params, caching)
    params = with_fingerprint(package_path, params, options.fingerprint_from, bool(options.cron))
    common: dict[str, Any] = {
        "namespace": options.namespace,
        "experiment": options.experiment,
        "params": params,
        "enable_caching": caching,
        "service_account": options.service_account or None,
        "auth": _kfp_auth(options, environ),
        "client_factory": client_factory,
    }
    if options.cron:
        name = options.run_name or "household-sounds-recurring"
        run_id = create_recurring_run(
            package_path, options.host, name=name, cron=options.cron, **common
        )
        return {"recurring_run_id": run_id}, 0
    run_id = submit(package_path, options.host, run_name=options.run_name, **common)
    result: dict[str, Any] = {"run_id": run_id, "run_url": run_url(options.host, run_id)}
    if not options.wait:
        return result, 0
    from pipelines.follow import KFP, follow

    client = _client(client_factory, options.host, options.namespace, common["auth"])
    outcome = follow(
        lambda: str(client.get_run(run_id).state),
        KFP,
        poll_s=options.poll,
        timeout_s=options.timeout,
    )
    return {**result, "state": outcome.state, "message": outcome.message}, outcome.exit_code


def vertex_service_account(name: str) -> str | None:
    """The GCP service account a Vertex job runs as, from ``--service-account``.

    Its default names the Kubernetes account of a Kubeflow run, which means nothing to Vertex:
    it (or ``''``) becomes ``None``, Compute Engine's default account.

    Raises:
        ParamError: A name that is not a GCP service account's e-mail.
    """
    if name in ("", PIPELINE_SERVICE_ACCOUNT):
        return None
    if "@" not in name:
        raise ParamError(
            f"--service-account {name!r}: a Vertex job runs as a GCP service account "
            "(NAME@PROJECT.iam.gserviceaccount.com), not a Kubernetes one"
        )
    return name


def _start_vertex(
    package_path: str,
    target: VertexTarget,
    service_account: str | None,
    options: SubmitOptions,
    params: dict[str, object],
    caching: bool | None,
) -> tuple[dict, int]:
    from pipelines import vertex

    run = vertex.submit(
        package_path,
        target,
        display_name=options.run_name or options.experiment,
        params=params,
        enable_caching=caching,
        service_account=service_account,
    )
    result = {"vertex_job": run.resource_name, "run_url": run.url}
    if not options.wait:
        return result, 0
    outcome = run.follow(options.poll, options.timeout)
    return {**result, "state": outcome.state, "message": outcome.message}, outcome.exit_code
