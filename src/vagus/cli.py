"""`vagus serve | talk`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vagus import __version__
from vagus.audio.wav import AudioFileError, check_output_path
from vagus.cluster.bus import ClusterError
from vagus.config import AgentConfig, ConfigError, load_config
from vagus.logs import setup_logging
from vagus.packaged import ModelNotFoundError
from vagus.services.errors import ProviderError

if TYPE_CHECKING:
    from vagus.agent.host import SessionHost
    from vagus.agent.services import Services
    from vagus.api import Agent
    from vagus.server.app import Access
    from vagus.server.workers import WorkerPool
    from vagus.transports.file import ConversationResult

log = logging.getLogger("vagus.cli")


class ServeError(RuntimeError):
    """The server cannot start (its port is taken, its host does not resolve)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vagus", description="Vagus voice agents")
    parser.add_argument("--version", action="version", version=f"vagus {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--plain-logs", action="store_true", help="human-readable logs instead of JSON lines")
    parser.add_argument(
        "--log-transcripts",
        action="store_true",
        help="JSON logs carry what was said (off by default: transcripts are personal data)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the talk page and WebRTC sessions")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--config", type=Path, help="agent config (YAML or JSON)")
    serve.add_argument("--agent", help="your agent: FILE.py:NAME or MODULE:NAME (a vagus.Agent)")
    serve.add_argument("--max-sessions", type=int, help="sessions at once (default: server.max_sessions, 50)")
    serve.add_argument("--drain-s", type=float, help="on SIGTERM, how long live sessions may finish (server.drain_s)")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        help="worker processes, each with its own models (default: server.workers, one per core)",
    )
    serve.add_argument(
        "--cluster", metavar="NATS_URL", help="join a cluster over this NATS server (server.cluster.url)"
    )
    serve.add_argument("--node-id", help="this node's name in the cluster (default: host name and process id)")
    serve.add_argument("--advertise-url", help="this node's address, shown by `vagus cluster status`")
    serve.add_argument(
        "--front-door", action="store_true", help="with --cluster: route offers to the nodes, load no model here"
    )
    serve.add_argument("--tls-cert", type=Path, help="serve https with this certificate (PEM; with --tls-key)")
    serve.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    serve.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve https with a certificate made for this run (browsers need https for the microphone)",
    )
    serve.add_argument(
        "--ice-address",
        action="append",
        default=[],
        help="extra host address to offer in ICE (127.0.0.1 is added when --host is a loopback address)",
    )

    studio = sub.add_parser(
        "studio", help="edit, talk to and evaluate an agent in the browser (the Studio, on a local server)"
    )
    studio.add_argument(
        "file", type=Path, nargs="?", default=Path("agent.yaml"),
        help="the agent's YAML config, edited in place (made if missing; default agent.yaml)",
    )  # fmt: skip
    studio.add_argument("--host", default="127.0.0.1")
    studio.add_argument("--port", type=int, default=8080)
    studio.add_argument("--agent", help="your agent's code: FILE.py:NAME or MODULE:NAME (shown read-only)")

    token = sub.add_parser("token", help="mint a session token (signed with server.secret / VAGUS_SECRET)")
    token.add_argument("--identity", default="user", help="who the token is for (its subject)")
    token.add_argument("--ttl", type=float, help="seconds it stays valid (default: server.token_ttl_s)")
    token.add_argument("--config", type=Path, help="agent config (YAML or JSON)")

    talk = sub.add_parser("talk", help="run one conversation from a recorded user track")
    talk.add_argument("input", type=Path, help="the user's audio (WAV/FLAC/OGG, any rate, mono or stereo)")
    talk.add_argument(
        "output", type=Path, help="where to write the agent's track, aligned to the input (.wav .flac .ogg .opus .mp3)"
    )
    talk.add_argument("--transcript", type=Path, help="write the JSON timeline of turns and latencies here")
    talk.add_argument("--config", type=Path, help="agent config (YAML or JSON)")
    talk.add_argument("--agent", help="your agent: FILE.py:NAME or MODULE:NAME (a vagus.Agent)")
    talk.add_argument("--user", help="who is talking: what `memory.path` remembers about them is used and kept")

    enrol = sub.add_parser("enroll", help="store a person's voiceprint (encrypted) from a recording of them")
    enrol.add_argument("name", help="who it is")
    enrol.add_argument("audio", type=Path, help="a recording of them speaking (3 s of speech or more)")
    enrol.add_argument("--consent", action="store_true", help="they agreed to their voiceprint being stored")
    enrol.add_argument("--config", type=Path, help="agent config with perception.vault")

    prints = sub.add_parser("voiceprints", help="list or delete enrolled voiceprints, or make a vault key")
    prints.add_argument("action", choices=["list", "delete", "new-key"])
    prints.add_argument("name", nargs="?", help="delete: whose voiceprint")
    prints.add_argument("--config", type=Path, help="agent config with perception.vault")

    evaluate = sub.add_parser("eval", help="run a suite of conversations over combinations of providers; rank them")
    evaluate.add_argument("suite", type=Path, nargs="?", help="the suite (YAML); --builtin for the built-in one")
    evaluate.add_argument("--builtin", action="store_true", help="the built-in suite (turn-taking, noise, echo …)")
    evaluate.add_argument("--config", type=Path, help="the agent's config (YAML): every combination starts from it")
    evaluate.add_argument("--matrix", type=Path, help="combinations to compare (YAML; default: the suite's base)")
    evaluate.add_argument("--out", type=Path, required=True, help="folder for runs and reports (resumable)")
    evaluate.add_argument("--fresh", action="store_true", help="run everything again instead of resuming")
    evaluate.add_argument("--write-config", type=Path, help="write the best combination's agent config here")
    evaluate.add_argument("--compare", type=Path, help="an earlier run's folder: show what got worse (exit 1 if any)")
    evaluate.add_argument(
        "--jobs", type=int, default=1, metavar="N",
        help="combinations run at once, each in its own process (default 1: runs at once slow each other's "
        "latencies; more only where cores are to spare)",
    )  # fmt: skip

    memory = sub.add_parser("memory", help="what the agent remembers about users (memory.path): list or forget")
    memory.add_argument("action", choices=["list", "forget"])
    memory.add_argument("user", nargs="?", help="one user (list: their facts; forget: required)")
    memory.add_argument("key", nargs="?", help="forget: only this fact (default: everything about the user)")
    memory.add_argument("--config", type=Path, help="agent config (YAML or JSON) with memory.path")
    memory.add_argument("--json", action="store_true", help="print JSON")

    pool = sub.add_parser(
        "pool", help="speech to text for many nodes on Ray Serve, batched across sessions (the pool extra)"
    )
    pool.add_argument("--host", default="127.0.0.1")
    pool.add_argument("--port", type=int, default=8000)
    pool.add_argument("--stt", help="Whisper model: tiny.en (default), base, or a CTranslate2 model folder")
    pool.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: a GPU when there is one")
    pool.add_argument(
        "--max-batch", type=_positive_int, help="utterances decoded at once (default: 16 on a GPU, 1 on the CPU)"
    )
    pool.add_argument("--batch-wait-ms", type=float, default=10.0, help="how long a batch may wait to fill (10)")
    pool.add_argument("--replicas", type=_positive_int, default=1, help="model copies (one GPU each on cuda)")

    cluster = sub.add_parser("cluster", help="a cluster's nodes, sessions and load; drain a node")
    cluster.add_argument("action", choices=["status", "drain"])
    cluster.add_argument("node", nargs="?", help="drain: the node's id (from status)")
    cluster.add_argument("--cluster", metavar="NATS_URL", help="the NATS server (default: server.cluster.url)")
    cluster.add_argument("--config", type=Path, help="agent config with server.cluster")
    cluster.add_argument("--json", action="store_true", help="print JSON")

    recs = sub.add_parser("recordings", help="recorded conversations (recording.enabled): list, show, delete, prune")
    recs.add_argument("action", choices=["list", "show", "delete", "prune"])
    recs.add_argument("name", nargs="*", help="show: one recording; delete: these (or --all)")
    recs.add_argument("--all", action="store_true", help="delete: every recording")
    recs.add_argument("--config", type=Path, help="agent config (YAML) with recording.path")
    recs.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _agent(args: argparse.Namespace) -> Agent | None:
    """The user's agent (`--agent FILE.py:NAME`), loaded before any model."""
    if not getattr(args, "agent", None):
        return None
    from vagus.api import load_agent

    return load_agent(args.agent)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def worker_count(configured: int | None) -> int:
    """`server.workers`, or one per core this process may run on."""
    if configured is not None:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _bind(host: str, port: int) -> socket.socket:
    """Take the port before any model loads, so a port in use fails in a second, not after loading."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"cannot resolve --host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock


def _serve(args: argparse.Namespace) -> int:
    from vagus.transports.webrtc import allow_loopback_candidates

    agent = _agent(args)
    config = agent.load_config(args.config) if agent is not None else load_config(args.config)
    if args.max_sessions is not None:
        config.server.max_sessions = args.max_sessions
    if args.drain_s is not None:
        config.server.drain_s = args.drain_s
    if args.workers is not None:
        config.server.workers = args.workers
    if getattr(args, "cluster", None):
        config.server.cluster.url = args.cluster
    args.front_door = getattr(args, "front_door", False)  # `vagus studio` serves with its own options
    args.node_id = getattr(args, "node_id", None)
    args.advertise_url = getattr(args, "advertise_url", None)
    if args.front_door and not config.server.cluster.url:
        raise ServeError("--front-door routes offers to a cluster's nodes: give --cluster nats://…")
    if config.server.cluster.url:
        if config.server.workers not in (None, 1):
            raise ServeError("a cluster node is one process (--workers 1): start more nodes instead")
        config.server.workers = 1
    args.ssl, tls_cleanup = _tls(args)
    sock = _bind(args.host, args.port)
    ice = list(args.ice_address)
    try:
        if ipaddress.ip_address(args.host).is_loopback and "127.0.0.1" not in ice:
            ice.append("127.0.0.1")
    except ValueError:
        pass  # a host name
    if ice:
        allow_loopback_candidates(ice)
    args.ice = ice
    try:
        return asyncio.run(_serve_forever(config, sock, args, agent))
    finally:
        sock.close()
        if tls_cleanup is not None:
            tls_cleanup()


def _tls(args: argparse.Namespace) -> tuple[Any, Callable[[], None] | None]:
    """The TLS context for `--tls-cert/--tls-key` or `--tls-self-signed` (None: plain http)."""
    from vagus.server.tls import TlsError, make_self_signed, server_context

    if args.tls_self_signed and (args.tls_cert or args.tls_key):
        raise ServeError("--tls-self-signed makes its own certificate: leave out --tls-cert/--tls-key")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ServeError("--tls-cert and --tls-key go together")
    try:
        if args.tls_self_signed:
            made = make_self_signed(args.host)
            print(f"vagus: self-signed certificate for this run, SHA-256 {made.fingerprint}", file=sys.stderr)
            return server_context(made.cert, made.key), made.remove
        if args.tls_cert:
            return server_context(args.tls_cert, args.tls_key), None
    except TlsError as exc:
        raise ServeError(str(exc)) from None
    return None, None


async def _serve_forever(
    config: AgentConfig, sock: socket.socket, args: argparse.Namespace, agent: Agent | None = None
) -> int:
    """Serve until SIGINT/SIGTERM; then admit nobody new, let live sessions finish (`server.drain_s`)
    and exit 0."""
    from aiohttp import web

    from vagus.agent.host import SessionHost
    from vagus.agent.services import build_services
    from vagus.server.app import create_app
    from vagus.transports.webrtc import WebRTCGateway

    access, talk_url = _access(config, args)
    workers = worker_count(config.server.workers)
    services = None
    pool: WorkerPool | None = None
    host: SessionHost | None = None
    cluster = None
    if workers > 1:
        from vagus.server.workers import WorkerPool

        log.info("starting %d workers (each loads its models)…", workers)
        logs = {"level": args.log_level, "json_lines": not args.plain_logs, "transcripts": args.log_transcripts or None}
        pool = WorkerPool(config, workers, args.ice, logs, agent_spec=args.agent)
        try:
            await pool.start()
        except RuntimeError as exc:
            raise ServeError(str(exc)) from None
        app = create_app(pool, access)
    elif config.server.cluster.url:
        from vagus.cluster.join import join_cluster
        from vagus.server.app import LocalSessions

        local = None
        if not args.front_door:
            log.info("loading models…")
            services = agent.build_services(config) if agent is not None else build_services(config)
            host = SessionHost(services, config, max_sessions=config.server.max_sessions, agent=agent)
            local = LocalSessions(WebRTCGateway(host))
        scheme = "https" if getattr(args, "ssl", None) else "http"
        url = args.advertise_url or f"{scheme}://{args.host}:{sock.getsockname()[1]}"
        try:
            cluster = await join_cluster(config, local, args.node_id, url)
        except ClusterError as exc:
            raise ServeError(str(exc)) from None
        app = create_app(cluster, access)
    else:
        log.info("loading models…")
        services = agent.build_services(config) if agent is not None else build_services(config)
        host = SessionHost(services, config, max_sessions=config.server.max_sessions, agent=agent)
        app = create_app(WebRTCGateway(host), access)
    _mount_studio(app, config, args, agent, host)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=getattr(args, "ssl", None)).start()
    if host is not None:
        host.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    where = f" ({workers} workers)" if pool is not None else ""
    print(f"Vagus is listening{where}: open {talk_url} and press 'Start talking'", flush=True)
    if getattr(args, "studio_url", False):
        print(f"Vagus Studio: open {talk_url.split('?')[0]}studio", flush=True)
    if cluster is not None and cluster.node is not None:
        print(f"Vagus node {cluster.node.node_id} joined cluster {config.server.cluster.name}", flush=True)
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopped, asyncio.ensure_future(cluster.node.drained.wait())], return_when="FIRST_COMPLETED")
        cluster.node.drain()  # SIGTERM, or a drain command whose sessions are over
        await cluster.node.drained.wait()
        if host is not None and len(host):
            log.info("drain time over: closing %d sessions", len(host))
        await runner.cleanup()
        if host is not None:
            await host.close_models()
        return 0
    await stop.wait()
    live = len(pool) if pool is not None else len(host) if host is not None else 0
    log.info("draining: %d live sessions, up to %.0f s", live, config.server.drain_s)
    if live:
        print(
            f"vagus: draining {live} live sessions (up to {config.server.drain_s:.0f} s)", file=sys.stderr, flush=True
        )
    if pool is not None:
        await pool.drain(config.server.drain_s)
    elif host is not None and not await host.drain(config.server.drain_s):
        log.info("drain time over: closing %d sessions", len(host))
    await runner.cleanup()  # closes the sessions: the gateway, its peers and the host, or the workers
    if host is not None:
        await host.close_models()
    return 0


STARTER_CONFIG = """\
# A Vagus agent: `vagus serve --config THIS_FILE`, or edit it in `vagus studio THIS_FILE`.
# Every setting and its default: docs/configuration.md.
name: My agent
system_prompt: You are a helpful voice assistant. Answer briefly, in plain spoken sentences.
"""


def _studio(args: argparse.Namespace) -> int:
    """`vagus studio FILE`: the server on this machine with the Studio on FILE (made when missing)."""
    path: Path = args.file
    if path.suffix not in (".yaml", ".yml"):
        raise ConfigError(f"the Studio edits a YAML file (.yaml): {path}")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(STARTER_CONFIG, encoding="utf-8")
        print(f"vagus: made {path} (a starter agent)", file=sys.stderr)
    settings = {"config": path, "max_sessions": None, "drain_s": None, "workers": 1, "tls_cert": None,
                "tls_key": None, "tls_self_signed": False, "ice_address": []}  # fmt: skip
    for name, value in settings.items():
        setattr(args, name, value)
    args.studio_url = True
    return _serve(args)


def _mount_studio(app: Any, config: AgentConfig, args: argparse.Namespace, agent: Any, host: Any) -> None:
    """/studio on this server: the config file (a YAML `--config`) editable, saves applied to the next
    session (one process: its host swaps config, and models when they changed; with workers, at restart)."""
    from vagus.studio.api import Studio, mount
    from vagus.studio.document import ConfigDocument

    document = None
    if args.config is not None and Path(args.config).suffix in (".yaml", ".yml"):
        document = ConfigDocument(Path(args.config))

    async def apply(new: AgentConfig) -> None:
        from vagus.agent.services import build_services, models_key

        if host is None:
            raise RuntimeError("with --workers, a saved config applies when the server restarts")
        services = None
        if models_key(new) != models_key(host.config):
            build = agent.build_services if agent is not None else build_services
            services = await asyncio.to_thread(build, new)
        host.reconfigure(new, services)
        log.info("studio: the next session uses the saved config%s", " and its models" if services else "")

    mount(app, Studio(document, config, agent, apply if host is not None else None))


def _loopback_only(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _access(config: AgentConfig, args: argparse.Namespace) -> tuple[Access, str]:
    """Tokens are required on a server reachable beyond this machine, or once a secret is set. A
    reachable server without a secret makes one for this run and prints a talk link with a token."""
    from vagus.server.app import Access
    from vagus.server.auth import ClientLimits, mint_token, new_secret

    sc = config.server
    required = sc.secret is not None or not _loopback_only(args.host)
    secret = sc.secret
    scheme = "https" if getattr(args, "ssl", None) is not None else "http"
    url = f"{scheme}://{args.host}:{args.port}/"
    if required and secret is None:
        secret = new_secret()
        print(
            "vagus: no server.secret (VAGUS_SECRET): tokens are signed with one made for this run",
            file=sys.stderr,
            flush=True,
        )
    if required:
        url += "?token=" + mint_token(secret or "", "operator", config.name, sc.token_ttl_s)
    limits = ClientLimits(sc.max_offers_per_minute, sc.max_sessions_per_client)
    access = Access(config.name, secret, required, sc.api_key, sc.allowed_origins, sc.token_ttl_s, limits)
    return access, url


def _token(args: argparse.Namespace) -> int:
    from vagus.server.auth import mint_token

    config = load_config(args.config)
    if config.server.secret is None:
        raise ConfigError("no secret to sign with: set server.secret in the config or VAGUS_SECRET")
    print(mint_token(config.server.secret, args.identity, config.name, args.ttl or config.server.token_ttl_s))
    return 0


def _vault(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from vagus.perception.vault import open_vault

    vault = open_vault(load_config(args.config))
    if vault is None:
        raise ConfigError("no voiceprint vault: set perception.vault.path (and its key) in the config")
    return vault


def _enroll(args: argparse.Namespace) -> int:
    from vagus.audio.wav import check_audio_file
    from vagus.perception.enrol import enrol
    from vagus.perception.voiceprint import VoiceEncoder
    from vagus.senses.silero import SileroModel

    if not args.consent:
        raise ConfigError("a voiceprint is biometric data: enrol only with the person's consent (--consent)")
    check_audio_file(args.audio)
    vault = _vault(args)
    voiceprint, seconds = enrol(vault, args.name, args.audio, VoiceEncoder(), SileroModel(), consent=True)
    print(f"enrolled {voiceprint.name} from {seconds:.1f} s of speech")
    return 0


def _voiceprints(args: argparse.Namespace) -> int:
    import datetime

    from vagus.perception.vault import new_key

    if args.action == "new-key":
        print(new_key())
        return 0
    vault = _vault(args)
    if args.action == "delete":
        if not args.name:
            raise ConfigError("vagus voiceprints delete NAME: say whose voiceprint to delete")
        if not vault.delete(args.name):
            raise ConfigError(f"no voiceprint for {args.name!r}")
        print(f"deleted the voiceprint of {args.name}")
        return 0
    prints = vault.all()
    for p in prints:
        when = datetime.datetime.fromtimestamp(p.created).isoformat(timespec="seconds")
        print(f"{p.name}\tenrolled {when}\t{p.model}")
    if not prints:
        print("no voiceprints enrolled")
    return 0


def _memory(args: argparse.Namespace) -> int:
    import json

    from vagus.brain.memory import MemoryStore, as_json

    config = load_config(args.config)
    path = config.memory.path
    if not path:
        raise ConfigError("no memory configured: set memory.path in the config or VAGUS_MEMORY_PATH")
    if not Path(path).expanduser().exists():
        raise ConfigError(f"{path}: no memory file yet (nothing has been remembered)")
    store = MemoryStore(path, config.memory.max_facts)
    try:
        if args.action == "forget":
            if not args.user:
                raise ConfigError("vagus memory forget USER [KEY]: say whose facts to delete")
            deleted = store.forget(args.user, args.key)
            print(f"deleted {deleted} fact{'s' if deleted != 1 else ''} of {args.user}")
            return 0
        data = as_json(store, args.user)
    finally:
        store.close()
    if args.json:
        print(json.dumps(data, indent=2))
    elif args.user:
        facts = data["facts"]
        print("\n".join(f"{k}: {v}" for k, v in facts.items()) if facts else f"nothing remembered about {args.user}")
    else:
        users = data["users"]
        print("\n".join(f"{u['user']}\t{u['facts']} facts" for u in users) if users else "nothing remembered")
    return 0


def _pool(args: argparse.Namespace) -> int:
    from vagus.pool.serve import run_pool

    if not 0 <= args.batch_wait_ms <= 1000:
        raise ConfigError("--batch-wait-ms is between 0 and 1000")
    try:
        return run_pool(args.host, args.port, args.stt, args.device, args.max_batch, args.batch_wait_ms, args.replicas)
    except RuntimeError as exc:
        raise ConfigError(str(exc)) from None


def _cluster(args: argparse.Namespace) -> int:
    from vagus.cluster.join import cluster_status, drain_node

    config = load_config(args.config)
    cc = config.server.cluster
    if args.cluster:
        cc.url = args.cluster
    try:
        if args.action == "drain":
            if not args.node:
                raise ConfigError("vagus cluster drain NODE: say which node (vagus cluster status lists them)")
            reply = asyncio.run(drain_node(cc, args.node))
            print(
                json.dumps(reply) if args.json else f"node {args.node} is draining ({reply['sessions']} live sessions)"
            )
            return 0
        nodes = asyncio.run(cluster_status(cc))
    except ClusterError as exc:
        raise ConfigError(str(exc)) from None
    if args.json:
        print(json.dumps({"cluster": cc.name, "nodes": nodes}, indent=1))
        return 0
    for n in nodes:
        state = "draining" if n["draining"] else "admitting" if n["admitting"] else "full"
        print(f"{n['node']}\t{n['url']}\t{n['sessions']}/{n['max_sessions']} sessions\t{state}\t"
              f"cpu {n['cpu_percent']:.0f} %\tlate p99 {n['lateness_p99_ms']:.1f} ms")  # fmt: skip
    if not nodes:
        print(f"no live node in cluster {cc.name} at {cc.url}")
    total = sum(n["sessions"] for n in nodes)
    print(f"{len(nodes)} node{'s' if len(nodes) != 1 else ''}, {total} session{'s' if total != 1 else ''}")
    return 0


def _recordings(args: argparse.Namespace) -> int:
    import datetime
    import json

    from vagus.agent.recordings import NoRecording, Recordings

    config = load_config(args.config)
    store = Recordings(config.recording.path)
    try:
        if args.action == "delete":
            names = [m["id"] for m in store.all()] if args.all else args.name
            if not names:
                raise ConfigError("vagus recordings delete NAME… (or --all): say which recordings to delete")
            for name in names:
                store.delete(name)
            print(f"deleted {len(names)} recording{'s' if len(names) != 1 else ''}")
            return 0
        if args.action == "prune":
            gone = store.prune(config.recording.keep_days, config.recording.max_sessions)
            print(f"deleted {len(gone)} recording{'s' if len(gone) != 1 else ''} past the limits")
            return 0
        if args.action == "show":
            if len(args.name) != 1:
                raise ConfigError("vagus recordings show NAME: say which recording")
            print(json.dumps(store.get(args.name[0]), indent=1, ensure_ascii=False))
            return 0
    except NoRecording as exc:
        raise ConfigError(str(exc)) from None
    listed = store.all()
    if args.json:
        print(json.dumps(listed, indent=1, ensure_ascii=False))
        return 0
    for m in listed:
        when = datetime.datetime.fromtimestamp(m["started"]).isoformat(sep=" ", timespec="seconds")
        length = "live" if m["ended"] is None else f"{m['duration_s']:.0f} s"
        print(f"{m['id']}\t{when}\t{length}\t{m['turns']} turns\t{m['first_words'][:60]}")
    if not listed:
        state = "on" if config.recording.enabled else "off (recording.enabled)"
        print(f"no recordings in {store.root} (recording is {state})")
    return 0


def _talk(args: argparse.Namespace) -> int:
    from vagus.agent.services import build_services
    from vagus.transports.file import load_user_track

    agent = _agent(args)
    config = agent.load_config(args.config) if agent is not None else load_config(args.config)
    # fail on bad input or an output that cannot be written before spending seconds on loading models
    check_output_path(args.output, args.input)
    if args.transcript is not None:
        if args.transcript.is_dir():
            raise AudioFileError(f"{args.transcript}: is a folder; give a file name such as timeline.json")
        if args.transcript.resolve() in (args.input.resolve(), args.output.resolve()):
            raise AudioFileError(f"{args.transcript}: the timeline would overwrite an audio file")
    load_user_track(args.input)
    services = agent.build_services(config) if agent is not None else build_services(config)
    result = asyncio.run(_talk_and_close(services, config, args, agent))
    for turn in result.turns:
        latency = turn.get("latency", {}).get("response_ms")
        line = {"turn": turn["turn"], "user": turn.get("user_text", ""), "agent": turn.get("heard_text", "")}
        if latency is not None:
            line["response_ms"] = latency
        if turn.get("interrupted"):
            line["interrupted"] = True
        if turn["turn"] in result.failures:
            line["failed"] = result.failures[turn["turn"]]
        print(json.dumps(line, ensure_ascii=False))
    print(f"wrote {args.output} ({len(result.turns)} turns)", file=sys.stderr)
    if result.turns and len(result.failures) == len(result.turns):
        first = result.failures[min(result.failures)]
        print(f"vagus: error: every turn failed ({first})", file=sys.stderr)
        return 1
    return 0


async def _talk_and_close(
    services: Services, config: AgentConfig, args: argparse.Namespace, agent: Agent | None = None
) -> ConversationResult:
    """The conversation, then the providers' connections closed on the same loop (no unclosed
    client sessions)."""
    from vagus.transports.file import talk_file

    try:
        return await talk_file(args.input, args.output, services, config, args.transcript, agent, args.user)
    finally:
        await services.close()


def _eval(args: argparse.Namespace) -> int:
    from vagus.evals.suite import load_matrix, load_suite

    if (args.suite is None) == (not args.builtin):
        raise ConfigError("name a suite file or --builtin (one of them)")
    if not 1 <= args.jobs <= 64:
        raise ConfigError("--jobs: from 1 to 64")
    suite = load_suite(None if args.builtin else args.suite, agent=args.config)
    matrix = load_matrix(args.matrix)
    missing = [m for m in ("rich", "jiwer", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"vagus eval needs {', '.join(missing)}: pip install 'vagus[eval]'")
    return asyncio.run(_run_eval(suite, matrix, args))


async def _run_eval(suite: Any, matrix: Any, args: argparse.Namespace) -> int:
    import yaml
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from vagus.evals.report import compare, summarise, write_reports
    from vagus.evals.runner import run_suite
    from vagus.evals.suite import merged

    console = Console(stderr=True)
    total = len(suite.scenarios) * len(matrix.combinations)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("evaluating", total=total)

        def step(what: str) -> None:
            progress.update(task, advance=1, description=what)

        runs = await run_suite(suite, matrix, args.out, fresh=args.fresh, on_progress=step, jobs=args.jobs)
    summary = summarise(suite, runs)
    compared = None
    if args.compare is not None:
        earlier = args.compare / "results.json"
        if not earlier.is_file():
            raise ConfigError(f"--compare: {earlier} does not exist (a folder `vagus eval` wrote)")
        compared = compare(json.loads(earlier.read_text())["summary"], summary)
    write_reports(args.out, suite, runs, summary, compared)
    table = Table(title=f"{suite.name}: {total} conversations")
    for column in ("combination", "score", "met", "p50 ms", "p95 ms", "WER", "stop ms", "false barge-ins"):
        table.add_column(column)
    for s in summary:
        table.add_row(s["combination"], f"{s['score']:.3f}", f"{s['passed_turns']}/{s['turns']}",
                      str(s["latency_p50_ms"]), str(s["latency_p95_ms"]), str(s["wer"]),
                      str(s["interruption_stop_ms_p50"]), str(s["false_barge_ins"]))  # fmt: skip
    Console().print(table)
    print(f"report: {args.out / 'report.html'}")
    if args.write_config is not None and summary:
        best = summary[0]["combination"]
        config = merged(suite.base, matrix.combinations[best])
        header = f"# the best combination of {suite.name} ({best}), written by vagus eval\n"
        args.write_config.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
        print(f"best: {best} → {args.write_config}")
    if compared is not None:
        worse = [c for c in compared if c["regressions"]]
        for c in worse:
            print(f"regression in {c['combination']}: " + "; ".join(c["regressions"]))
        if worse:
            return 1
        print(f"no regression against {args.compare}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    setup_logging(args.log_level, json_lines=not args.plain_logs, transcripts=args.log_transcripts or None)
    try:
        commands = {
            "serve": _serve,
            "studio": _studio,
            "talk": _talk,
            "token": _token,
            "memory": _memory,
            "enroll": _enroll,
            "voiceprints": _voiceprints,
            "eval": _eval,
            "recordings": _recordings,
            "cluster": _cluster,
            "pool": _pool,
        }
        return commands[args.command](args)
    except (ConfigError, AudioFileError, ModelNotFoundError, ProviderError, ServeError, ValueError) as exc:
        print(f"vagus: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
