"""`hnet-bio browse`: start the Streamlit boundary browser (app/) on this machine and print its URL.

With no arguments it opens the shipped DNA model on the embedded genome (``dna-sample``, H. pylori
G27) at a gene-rich stretch; ``--checkpoint`` takes what every command's ``--checkpoint`` takes (a
checkpoint directory, a run directory (its best), RUN@last|@STEP or a shipped model;
pipelines/runs/resolve.py), checked here before the server starts; ``--data`` a
FASTA/GenBank/GFF3/audio file or ``dna-sample``. The server listens on 127.0.0.1 unless ``--host``
says otherwise: the page runs models on files of this machine, so it is not offered to the network
by default, and a non-loopback ``--host`` needs ``--data-root``: the page's path and checkpoint
fields then open only what lies under that folder (symlinks and ``..`` resolved first), and an
upload is at most ``--max-upload-mb``.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

from pipelines.errors import UsageError
from pipelines.runs.resolve import CHECKPOINT_HELP, DEFAULT_DNA_CHECKPOINT, resolve_checkpoint

EMBEDDED = "dna-sample"
# The 10 kb of dna-sample most covered by long ORFs (ATG..stop >= 300 nt, six frames: 99.9%;
# median 10 kb window 87.8%): scripts/dense_orf_window.py.
DEFAULT_REGION_START = 287_110  # 1-based
DEFAULT_PORT = 8501
ENV_CHECKPOINT = "HNET_BIO_BROWSE_CHECKPOINT"
ENV_DATA = "HNET_BIO_BROWSE_DATA"
ENV_REGION = "HNET_BIO_BROWSE_REGION"
ENV_POSITION = "HNET_BIO_BROWSE_POSITION"
ENV_ROOT = "HNET_BIO_BROWSE_DATA_ROOT"
ENV_MAX_UPLOAD_MB = "HNET_BIO_BROWSE_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 64  # a 5 Mb genome as FASTA is ~5 MB, one minute of 16 kHz PCM16 ~2 MB


def is_loopback(host: str) -> bool:
    """Whether ``host`` listens only to this machine (127.0.0.0/8, ::1, ``localhost``); any other
    name or address may be reachable from the network."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, data_root: str | None, data: str | None, max_upload_mb: int) -> str | None:
    """The data root as an absolute, resolved path (None: no root), after refusing what would expose
    the machine's files: a non-loopback host without a root, a root that is not a folder, a start-up
    ``--data`` outside it."""
    if not 1 <= max_upload_mb <= 4096:
        raise UsageError(f"--max-upload-mb must be in 1..4096, got {max_upload_mb}")
    if data_root is None:
        if not is_loopback(host):
            raise UsageError(f"--host {host} offers the page to the network: give --data-root DIR too "
                             "(only files under DIR can then be opened from the page)")
        return None
    root = Path(data_root).expanduser().resolve()
    if not root.is_dir():
        raise UsageError(f"--data-root {data_root}: not a folder")
    if data is not None and data != EMBEDDED and not Path(data).resolve().is_relative_to(root):
        raise UsageError(f"--data {data}: outside --data-root {root}")
    return str(root)


def app_script() -> Path:
    """The Streamlit entry point, app/main.py, found without importing the app's pages."""
    spec = importlib.util.find_spec("app")
    if spec is None or spec.origin is None:
        raise UsageError("the app package is not installed (reinstall hnet-bio)")
    return Path(spec.origin).parent / "main.py"


def server_command(
    checkpoint: str | None = None,
    data: str | None = None,
    region: str | None = None,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    data_root: str | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
) -> tuple[list[str], dict[str, str]]:
    """(argv, environment) of the Streamlit server; the app reads its start-up input from the environment.

    The checkpoint is resolved here too, so a name that means nothing is one line before any server
    starts; the app resolves the same text again (same working directory, same answer).
    """
    if not 1 <= port <= 65535:
        raise UsageError(f"--port must be in 1..65535, got {port}")
    if data is not None and data != EMBEDDED and not Path(data).is_file():
        raise UsageError(f"{data}: no such file (give a FASTA/GenBank/GFF3/audio file or {EMBEDDED})")
    root = check_exposure(host, data_root, data, max_upload_mb)
    checkpoint = checkpoint or DEFAULT_DNA_CHECKPOINT
    resolve_checkpoint(checkpoint)
    env = {k: v for k, v in os.environ.items() if k != ENV_ROOT}
    here = str(Path(__file__).resolve().parents[1])  # this checkout, not another install of hnet-bio
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    if root is not None:
        env[ENV_ROOT] = root
    env[ENV_MAX_UPLOAD_MB] = str(max_upload_mb)
    env[ENV_CHECKPOINT] = checkpoint
    env[ENV_DATA] = data or EMBEDDED
    if region:
        env[ENV_REGION] = region
    elif data is None or data == EMBEDDED:
        env[ENV_POSITION] = str(DEFAULT_REGION_START)
    argv = [sys.executable, "-m", "streamlit", "run", str(app_script()),
            "--server.port", str(port), "--server.address", host, "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--server.maxUploadSize", str(max_upload_mb)]
    return argv, env


def serve(argv: list[str], env: dict[str, str], port: int, host: str) -> int:
    """Run the server of `server_command` (argv, env, listening on host:port) until interrupted;
    returns its exit status."""
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    print(f"hnet-bio browse: http://{shown}:{port}  (Ctrl-C stops the server)", flush=True)
    with subprocess.Popen(argv, env=env) as proc:
        # A TERM sent to us (a service manager, a test) must reach the server, or it outlives us.
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
        try:
            return proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the whole process group; let the server finish
            proc.wait()
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("browse", help="the boundary browser (Streamlit) in a web page",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", metavar="CKPT",
                   help=f"{CHECKPOINT_HELP} (default {DEFAULT_DNA_CHECKPOINT})")
    p.add_argument("--data", metavar="FILE", help=f"FASTA/GenBank/GFF3/audio file (default {EMBEDDED})")
    p.add_argument("--region", metavar="R", help="chr:start-end (1-based inclusive) to open")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1); any other needs --data-root")
    p.add_argument("--data-root", metavar="DIR",
                   help="only files (and checkpoints) under DIR can be opened from the page")
    p.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB, metavar="MB",
                   help=f"largest upload accepted (default {DEFAULT_MAX_UPLOAD_MB})")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    argv, env = server_command(args.checkpoint, args.data, args.region, args.port, args.host,
                               args.data_root, args.max_upload_mb)
    return serve(argv, env, args.port, args.host)
