"""The two Debian packages, for real on this machine, in order: lintian; apt installs the
platform and its unit's way of running it serves; apt installs the client over an existing
Thunderbird policy; the helper reads IT's settings; a fresh Thunderbird gets the extension
from the policy alone and sends a secured message through the installed helper to the
installed platform; purge leaves nothing and gives the policy file back byte for byte.

The tests share one machine state (the `machine` fixture) and depend on the ones before
them; whatever happens, the fixture purges the packages and puts the machine's own policy
file back at the end."""

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from conftest import (POLICIES, PLATFORM_CONFIG, UNIT, InstalledPlatform, Machine, apt, deb,
                      installed)
from harness import ALICE, PASSWORD, PRODUCT_ID, ROOT, Control, Desk, Thunderbird, build_xpi, wait_until

OUTSIDE = "bob@outside.example"
HELPER = Path("/usr/bin/sealpost-helper")
MANIFEST = Path("/usr/lib/mozilla/native-messaging-hosts/net.sealpost.helper.json")
XPI = Path(f"/usr/share/sealpost/{PRODUCT_ID}.xpi")
SETTINGS = Path("/etc/sealpost/helper.toml")
AUTOSTART = Path("/etc/xdg/autostart/sealpost-bridge.desktop")
# Where the packages could leave something behind: compared before installing and after
# purging (paths naming Sealpost, and the shared folders they write into).
WATCHED = [Path(p) for p in ("/etc", "/usr/bin", "/usr/lib", "/usr/share", "/var/lib")]
SHARED = ("/etc/thunderbird", "/usr/lib/mozilla", "/etc/systemd", "/etc/xdg/autostart",
          "/usr/lib/systemd/system", "/usr/lib/sysusers.d", "/var/lib/systemd")


def snapshot() -> set[str]:
    found = set()
    for top in WATCHED:
        for dirpath, dirnames, filenames in os.walk(top):
            if dirpath.startswith(("/var/lib/dpkg", "/var/lib/apt")):
                dirnames.clear()
                continue
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if "sealpost" in path or path.startswith(SHARED):
                    found.add(path)
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> str:
    st = path.stat()
    return f"{oct(st.st_mode & 0o7777)} {st.st_uid} {st.st_gid}"


def test_the_packages_are_lintian_clean():
    out = subprocess.run(["lintian", "--fail-on", "error,warning", "--display-info",
                          deb("sealpost-client"), deb("sealpost-platform")],
                         capture_output=True, text=True)
    print(out.stdout)
    bad = [line for line in out.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert out.returncode == 0 and not bad, "\n".join(bad) or out.stderr
    # Every override says why, in a comment right above it.
    for overrides in sorted((ROOT / "installer" / "debian").glob("*/lintian-overrides")):
        lines = overrides.read_text().splitlines()
        for i, line in enumerate(lines):
            if line and not line.startswith("#"):
                assert i > 0 and lines[i - 1].startswith("#"), f"{overrides}: {line} has no reason"


def test_the_same_sources_give_the_same_packages(tmp_path):
    subprocess.run([ROOT / "installer" / "debian" / "build", tmp_path], check=True,
                   capture_output=True, cwd=ROOT)
    for name in ("sealpost-client", "sealpost-platform"):
        again = next(tmp_path.glob(f"{name}_*.deb"))
        assert sha256(again) == sha256(deb(name)), f"{name}: a second build differs"


def test_apt_installs_the_platform_and_runs_it_as_its_unit_says(machine: Machine):
    machine.before = snapshot()
    apt("install", str(deb("sealpost-platform")))

    assert mode(Path("/usr/bin/sealpost-platform")).startswith("0o755 0 0")
    user = subprocess.run(["getent", "passwd", "sealpost"], capture_output=True, text=True).stdout
    assert user.endswith(":/var/lib/sealpost:/usr/sbin/nologin\n"), user
    uid, gid = int(user.split(":")[2]), int(user.split(":")[3])
    assert mode(PLATFORM_CONFIG) == f"0o640 0 {gid}", "settings readable by root and sealpost only"
    assert mode(Path("/var/lib/sealpost")) == f"0o700 {uid} {gid}"
    conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "sealpost-platform"],
                               capture_output=True, text=True).stdout
    assert str(PLATFORM_CONFIG) in conffiles
    # Enabled the Debian way (deb-systemd-helper), to start at boot where systemd runs.
    enabled = subprocess.run(["systemctl", "is-enabled", "sealpost-platform.service"], capture_output=True, text=True)
    assert enabled.stdout.strip() == "enabled", enabled
    assert Path("/etc/systemd/system/multi-user.target.wants/sealpost-platform.service").is_symlink()
    unit = UNIT.read_text()
    for hardening in ("User=sealpost", "NoNewPrivileges=yes", "ProtectSystem=strict",
                      "StateDirectory=sealpost", "CapabilityBoundingSet=\n"):
        assert hardening in unit
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
        assert verify.returncode == 0, verify.stderr
        assert "sealpost" not in verify.stderr, verify.stderr

    machine.platform = platform = InstalledPlatform(machine.workdir, machine.sink)
    assert platform.get("/healthz") == (200, {"status": "ok"})
    status = Path(f"/proc/{platform.proc.pid}/status").read_text()
    # setpriv execs the server in the same process.
    assert f"Uid:\t{uid}\t{uid}\t{uid}\t{uid}" in status
    assert "NoNewPrivs:\t1" in status
    key = Path("/var/lib/sealpost/master.key")
    assert mode(key) == f"0o600 {uid} {gid}", "the master key is the platform user's alone"


def test_apt_installs_the_client_into_an_existing_policy(machine: Machine):
    assert machine.platform, "the platform is running (the test before)"
    POLICIES.parent.mkdir(parents=True, exist_ok=True)
    POLICIES.write_bytes(Machine.PREEXISTING)
    shutil.copy(machine.platform.cert, machine.ca_file)
    machine.key_id = machine.platform.get("/api/v1/keys/platform")[1]["key_id"]
    apt("install", str(deb("sealpost-client")), env={
        "SEALPOST_PLATFORM_URL": machine.platform.base,
        "SEALPOST_TLS_CA_FILE": str(machine.ca_file),
        "SEALPOST_PLATFORM_KEY_ID": machine.key_id,
        "SEALPOST_BRIDGE_AUTOSTART": "false",
    })

    assert mode(HELPER).startswith("0o755 0 0")
    xpi = machine.workdir / "expected.xpi"
    build_xpi(ROOT / "thunderbird-extension", xpi)
    assert XPI.read_bytes() == xpi.read_bytes(), "the packaged extension is this commit's"
    assert AUTOSTART.read_text().count("Exec=/usr/bin/sealpost-helper bridge --autostart\n") == 1
    assert Path("/usr/share/man/man1/sealpost-helper.1.gz").exists()

    # The registration is the one the helper itself writes for a system-wide install.
    plan = subprocess.run([HELPER, "install", "--system", "--print"], capture_output=True, text=True,
                          env={"HOME": str(machine.workdir), "PATH": "/usr/bin:/bin"}, check=True).stdout
    where, _, manifest = plan.partition("\n")
    assert where == f"manifest: {MANIFEST}"
    assert json.loads(MANIFEST.read_text()) == json.loads(manifest)

    # IT's settings: what was preseeded, as TOML the helper reads.
    import tomllib
    settings = tomllib.loads(SETTINGS.read_text())
    assert settings == {"platform": machine.platform.base, "tls_ca_file": str(machine.ca_file),
                        "platform_key_id": machine.key_id, "bridge_autostart": False}
    assert mode(SETTINGS) == "0o644 0 0"

    # Merged: everything IT had stays, the Sealpost entries join it.
    policies = json.loads(POLICIES.read_text())["policies"]
    assert policies["DisableTelemetry"] is True
    assert policies["ExtensionSettings"] == {
        "other@example.org": {"installation_mode": "blocked"},
        PRODUCT_ID: {"installation_mode": "force_installed", "install_url": f"file://{XPI}"},
    }
    assert policies["3rdparty"]["Extensions"] == {
        "other@example.org": {"colour": "blue"},
        PRODUCT_ID: {"platform": machine.platform.base},
    }


def test_the_helper_reads_its_settings_from_it(machine: Machine, tmp_path):
    assert installed("sealpost-client")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
           "DBUS_SESSION_BUS_ADDRESS": os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")}
    status = json.loads(subprocess.run([HELPER, "status", "--json"], capture_output=True, text=True,
                                       env=env, check=True).stdout)
    assert status["signed_in"] is False
    assert status["platform"] == machine.platform.base, "IT's platform, from /etc/sealpost/helper.toml"
    # Signing in anywhere else is refused by IT's setting.
    other = subprocess.run([HELPER, "sign-in", "--platform", "https://elsewhere.example", "--email", ALICE,
                            "--password-stdin"], input=PASSWORD + "\n", capture_output=True, text=True, env=env)
    assert other.returncode != 0 and "IT set the platform" in other.stderr, other.stderr
    # The bridge's login entry starts it only when IT turned it on (off here): it exits at once.
    started = time.monotonic()
    bridge = subprocess.run([HELPER, "bridge", "--autostart"], capture_output=True, text=True, env=env, timeout=10)
    assert bridge.returncode == 0 and time.monotonic() - started < 5, bridge.stderr


def helper_processes(home: Path) -> list[int]:
    """The running /usr/bin/sealpost-helper processes of the desk whose HOME is `home`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if os.readlink(proc / "exe") != str(HELPER):
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"HOME={home}".encode() in environ:
            found.append(int(proc.name))
    return found


def test_thunderbird_gets_the_extension_from_the_policy_and_sends_securely(machine: Machine):
    assert installed("sealpost-client") and machine.platform
    platform = machine.platform
    control = Control()
    desk = Desk(machine.workdir, platform, "alice", installed=True)
    tb = Thunderbird(desk, machine.sink, control, sideload_product=False)
    try:
        # The extension comes from IT's policy: nothing of it was put into the profile.
        def by_policy():
            path = tb.profile / "extensions.json"
            addons = json.loads(path.read_text())["addons"] if path.exists() else []
            return next((a for a in addons if a["id"] == PRODUCT_ID and a["active"]), None)
        addon = wait_until("Thunderbird to install the extension from the policy", by_policy, 60, 0.5)
        assert addon["installTelemetryInfo"] == {"source": "enterprise-policy"}
        assert addon["sourceURI"] == f"file://{XPI}"
        assert not (desk.home / ".mozilla").exists(), "no per-user registration of the helper"

        # IT's platform reaches the extension's options page (3rdparty → storage.managed); the
        # user only types their address and password.
        wait_until("the options page", lambda: control.try_call("open_options").get("ok"), 30, 0.5)

        def page(action, selector, value=""):
            return control.call("page", url="/options/options.html", action=action, selector=selector,
                                value=value)
        wait_until("the options page to be ready", lambda: page("present", "body[data-ready]")["result"], 30, 0.2)
        field = page("read", "#platform")["result"]
        assert field["value"] == platform.base and field["readOnly"], field
        assert page("read", "#platform-set-by-it")["result"]["hidden"] is False
        page("fill", "#email", ALICE)
        page("fill", "#password", PASSWORD)
        page("click", "#sign-in-button")
        signed_in = wait_until("the sign-in", lambda: ALICE in (t := page("read", "#status")["result"]["text"]) and t, 60, 0.5)
        assert platform.base in signed_in

        # A message to someone outside is secured by the policy's default and sent.
        tab = control.call("compose", to=[OUTSIDE], subject="Installed by IT",
                           html="<p>MARKER-DEB-BODY from the packages</p>")["tab"]

        def settled():
            b = control.call("button", tab=tab)
            return b if b["label"] not in ("", "Send secure") and not b["tooltip"].startswith("Sealpost: checking") else None
        assert wait_until("the Sealpost button", settled, 30, 0.25)["label"] == "Secure: required"
        result = control.call("send", timeout=300, tab=tab)
        assert result["sent"], result

        # The helper that did it is the one the system manifest names, in this user's session.
        assert helper_processes(desk.home), "Thunderbird started /usr/bin/sealpost-helper"
    finally:
        tb.stop()
        control.shutdown()

    def the_stub():
        with machine.sink.lock:
            return next((m for m in machine.sink.messages if m.message["X-Sealpost-Message-Id"]), None)
    got = wait_until("the stub at the SMTP sink", the_stub, 60)
    stub = got.message
    message_id = stub["X-Sealpost-Message-Id"]
    assert got.rcpt_tos == [OUTSIDE]
    assert b"MARKER-DEB-BODY" not in got.raw, "only the stub leaves by mail"
    assert f"{platform.base}/m/" in stub.get_body(("plain",)).get_content()
    export = platform.export(message_id, machine.workdir)
    assert "MARKER-DEB-BODY from the packages" in (export / "body.html").read_text()
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["metadata"]["from"] == ALICE and manifest["metadata"]["to"] == [OUTSIDE]


def test_purge_leaves_nothing_and_gives_the_policy_file_back(machine: Machine):
    assert installed("sealpost-client") and installed("sealpost-platform")
    machine.platform.stop()  # not started by systemd here, so the package's prerm cannot
    subprocess.run(["debconf-set-selections"], check=True, text=True,
                   input="sealpost-platform sealpost-platform/purge-data boolean true\n")
    apt("purge", "sealpost-client", "sealpost-platform")

    assert POLICIES.read_bytes() == Machine.PREEXISTING, "IT's policy file, byte for byte"
    for package in ("sealpost-client", "sealpost-platform"):
        assert not installed(package)
    left = snapshot() - machine.before - {str(POLICIES), str(POLICIES.parent), str(POLICIES.parent.parent)}
    assert not left, f"left behind: {sorted(left)}"
    assert "sealpost" not in subprocess.run(["dpkg-statoverride", "--list"], capture_output=True, text=True).stdout
    debconf = subprocess.run(["debconf-show", "sealpost-platform"], capture_output=True, text=True)
    assert not debconf.stdout.strip(), debconf.stdout
    for path in (HELPER, MANIFEST, XPI.parent, SETTINGS.parent, AUTOSTART, UNIT,
                 Path("/var/lib/sealpost"), Path("/var/lib/sealpost-client")):
        assert not path.exists(), path
