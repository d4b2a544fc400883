"""Run the whole demo on one machine: the local Alipay and WeChat Pay sandbox, the site and the Celery worker
(with its beat schedule). ``make demo`` runs this with the virtualenv's Python.

Steps: start the sandbox (it writes its keys and ``sandbox.json`` on first start), compile the
translations if they changed, migrate, load the sample data (idempotent), start the site and
the worker, print where everything is, and wait. Ctrl-C (or SIGTERM) stops every process.

Environment (all optional):
  DEMO_HOST (127.0.0.1), DEMO_PORT (8000), SANDBOX_PORT (9000), SANDBOX_TIME_SCALE (1),
  DEMO_VAR_DIR (var/), DEMO_SERVER (runserver | gunicorn), DEMO_NO_WORKER (1 = no Celery),
  and everything demo_site/settings.py reads (DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, ...).
  Unless set, DJANGO_DEBUG is 1 and DJANGO_SECRET_KEY is a key generated once into
  var/secret_key: the settings themselves have neither default.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

DEMO_DIR = Path(__file__).resolve().parent
REPO_DIR = DEMO_DIR.parent
BIN_DIR = Path(sys.executable).parent
PYTHON = sys.executable

COLOURS = {"sandbox": "35", "site": "36", "worker": "33", "demo": "32"}


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host or "0.0.0.0", port))  # noqa: S104 - DEMO_HOST may be every address
        except OSError:
            return False
    return True


def say(name: str, text: str, stream: IO[str] = sys.stdout) -> None:
    prefix = f"[{name}]"
    if stream.isatty():
        prefix = f"\033[{COLOURS.get(name, '0')}m{prefix}\033[0m"
    stream.write(f"{prefix} {text}\n")
    stream.flush()


class Child:
    """A child process in its own process group, its output prefixed with its name."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, daemon=True)
        self._pump.start()

    def _copy_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            say(self.name, line.rstrip("\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            say("demo", f"{self.name} did not stop in {timeout:.0f}s; killing it")
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)


def wait_http(url: str, timeout: float, children: list[Child]) -> bool:
    """Poll ``url`` until it answers (any HTTP status) or a child dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(not c.alive() for c in children):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own local URL
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def sandbox_command(host: str, port: int, data_dir: Path, time_scale: str) -> list[str]:
    cli = BIN_DIR / "zhifu"
    if cli.exists():
        probe = subprocess.run(
            [str(cli), "sandbox", "--help"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [
                str(cli),
                "sandbox",
                "--host",
                host,
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--time-scale",
                time_scale,
            ]
    # The `zhifu` command is not installed (or has no sandbox sub-command): call the server.
    code = (
        "import sys; from pathlib import Path; from zhifu.sandbox.server import serve; "
        "serve(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))"
    )
    return [PYTHON, "-c", code, host, str(port), str(data_dir), time_scale]


def compile_messages(env: dict[str, str]) -> None:
    """Compile .po files whose .mo is missing or older (needs GNU gettext's msgfmt; the
    compiled .mo files are committed, so without msgfmt nothing is lost)."""
    stale = [
        po
        for po in (DEMO_DIR / "locale").glob("*/LC_MESSAGES/*.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if not stale:
        return
    if shutil.which("msgfmt") is None:
        say("demo", "translations changed but msgfmt (gettext) is missing: using the committed .mo")
        return
    manage(["compilemessages", "--ignore", ".venv"], env)


def local_secret_key(var_dir: Path) -> str:
    """The demo's own secret key: generated once, kept in ``var/secret_key`` (readable by this
    user only) so that sessions survive a restart. The settings refuse to start without one."""
    path = var_dir / "secret_key"
    try:
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        key = ""
    if not key:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
    return key


def manage(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([PYTHON, str(DEMO_DIR / "manage.py"), *args], env=env, cwd=DEMO_DIR, check=True)


def main() -> int:
    host = os.environ.get("DEMO_HOST", "127.0.0.1")
    port = int(os.environ.get("DEMO_PORT", "8000"))
    sandbox_port = int(os.environ.get("SANDBOX_PORT", "9000"))
    time_scale = os.environ.get("SANDBOX_TIME_SCALE", "1")
    var_dir = Path(os.environ.get("DEMO_VAR_DIR", REPO_DIR / "var")).resolve()
    sandbox_dir = Path(os.environ.get("ZHIFU_SANDBOX_DIR", var_dir / "sandbox")).resolve()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    site_url = os.environ.get("DEMO_SITE_URL", f"http://{shown_host}:{port}")
    taken = [
        f"{name} port {number} ({variable})"
        for name, bind, number, variable in (
            ("the sandbox's", "127.0.0.1", sandbox_port, "SANDBOX_PORT"),
            ("the site's", host, port, "DEMO_PORT"),
        )
        if not port_free(bind, number)
    ]
    if taken:  # another demo or sandbox would answer in our place: say so, start nothing
        say(
            "demo",
            f"{' and '.join(taken)} already in use (another `make demo` or `zhifu sandbox`?): "
            "stop it, or choose other ports, e.g. DEMO_PORT=8001 SANDBOX_PORT=9001 make demo",
            sys.stderr,
        )
        return 1
    for sub in ("", "sandbox", "cache", "celery/queue", "celery/processed"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True)
    sandbox_dir.mkdir(parents=True, exist_ok=True)

    env = dict(os.environ)
    # A local run: debug pages and a generated key, unless the environment says otherwise.
    env.setdefault("DJANGO_DEBUG", "1")
    if not env.get("DJANGO_SECRET_KEY"):
        if not (var_dir / "secret_key").exists():
            say("demo", f"generating this machine's secret key into {var_dir / 'secret_key'}")
        env["DJANGO_SECRET_KEY"] = local_secret_key(var_dir)
    env.update(
        {
            "DEMO_VAR_DIR": str(var_dir),
            "ZHIFU_SANDBOX_DIR": str(sandbox_dir),
            "DEMO_SITE_URL": site_url,
            "DJANGO_SETTINGS_MODULE": "demo_site.settings",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(DEMO_DIR), str(REPO_DIR / "src"), env.get("PYTHONPATH", "")) if p
            ),
            "PYTHONUNBUFFERED": "1",
            # One zone in the log: the sandbox's access log uses the process's local time, the
            # site and the worker Django's TIME_ZONE (Beijing), so every process gets Beijing.
            "TZ": "Asia/Shanghai",
        }
    )
    children: list[Child] = []
    stopping = threading.Event()
    parent = os.getppid()

    def stop_all(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)

    try:
        # 1. the sandbox first: it creates the keys and sandbox.json the site's settings read
        sandbox = Child(
            "sandbox",
            sandbox_command("127.0.0.1", sandbox_port, sandbox_dir, time_scale),
            env,
            REPO_DIR,
        )
        children.append(sandbox)
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        if not wait_http(sandbox_url + "/sandbox/api/info", 30, children):
            say("demo", f"the sandbox did not start on port {sandbox_port} (see above)", sys.stderr)
            return 1
        info = json.loads((sandbox_dir / "sandbox.json").read_text(encoding="utf-8"))

        # 2. translations, database, sample data
        compile_messages(env)
        manage(["migrate", "--noinput"], env)
        manage(["seed_demo"], env)
        if stopping.is_set():
            return 0

        # 3. the site and the worker
        server = os.environ.get("DEMO_SERVER", "runserver")
        if server == "gunicorn":
            env["DEMO_SERVE_STATIC"] = "1"
            site_args = [
                str(BIN_DIR / "gunicorn"),
                "--config",
                "demo_site/gunicorn_conf.py",  # the access log, redacted
                "demo_site.wsgi",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
            ]
        else:
            site_args = [PYTHON, "manage.py", "runserver", f"{host}:{port}", "--noreload"]
        site = Child("site", site_args, env, DEMO_DIR)
        children.append(site)
        if not os.environ.get("DEMO_NO_WORKER"):
            worker_args = [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "demo_site",
                "worker",
                "--beat",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-mingle",
                "--without-gossip",
                "--schedule",
                str(var_dir / "celery" / "beat-schedule"),
            ]
            children.append(Child("worker", worker_args, env, DEMO_DIR))
        if not wait_http(site_url + "/", 60, children):
            say("demo", "the site did not start (see above)", sys.stderr)
            return 1

        from_seed = ("alice", "bob", "carol", "admin")
        wx = info.get("wechatpay") or {}
        key_mode = (
            "public key (withdrawals fail: Alipay transfers need certificate mode)"
            if os.environ.get("ZHIFU_ALIPAY_KEY_MODE") == "public_key"
            else "certificate (公钥证书; ZHIFU_ALIPAY_KEY_MODE=public_key to switch)"
        )
        buyers = ", ".join(f"{b['login']} / {b['password']}" for b in info.get("buyers", []))
        banner = [
            "",
            "=" * 72,
            f"  Zhifu demo site:   {site_url}/",
            f"  Demo users:        {', '.join(from_seed)}  (password zhifu-demo; admin is staff)",
            f"  Admin:             {site_url}/admin/",
            f"  API docs:          {site_url}/api/docs/",
            f"  Alipay sandbox:    {sandbox_url}/sandbox/   (gateway {info.get('gateway_url')})",
            f"  Alipay key mode:   {key_mode}",
            f"  WeChat Pay:        the same sandbox   (mchid {wx.get('mchid', '?')}, appid "
            f"{wx.get('appid', '?')}; QR on a computer, H5 on a phone, JSAPI in WeChat)",
            f"  Sandbox buyers:    {buyers}",
            f"  Data:              {var_dir}",
            "  Press Ctrl-C to stop everything.",
            "=" * 72,
            "",
        ]
        for line in banner:
            say("demo", line)

        while not stopping.is_set():
            if os.getppid() != parent:
                # `make demo` killed with SIGTERM dies without passing the signal on: follow it.
                say("demo", "the process that started the demo has gone; stopping")
                return 0
            dead = [c for c in children if not c.alive()]
            if dead:
                for c in dead:
                    say("demo", f"{c.name} exited with status {c.proc.returncode}", sys.stderr)
                return 1
            stopping.wait(0.5)
        return 0
    except subprocess.CalledProcessError as exc:
        say(
            "demo",
            f"step failed: {' '.join(map(str, exc.cmd[1:3]))} (exit {exc.returncode})",
            sys.stderr,
        )
        return 1
    finally:
        say("demo", "stopping...")
        for child in reversed(children):
            child.stop()
        say("demo", "stopped.")


if __name__ == "__main__":
    sys.exit(main())
