"""`assistant mail flush` and `assistant mail serve`: the outbox sent from the command line,
and the email channel's own process answering a mail end to end."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from assistant.cli import main
from assistant.core.config import Settings
from assistant.handoff.outbox import outgoing
from assistant.handoff.queue import open_queue
from tests.mail_support import SUPPORT, USER, Relay, body, send, user_mail


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("ASSISTANT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_THRESHOLDS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("ASSISTANT_MAIL_INBOUND_ADDRESS", SUPPORT)
    return monkeypatch


def test_flush_without_a_relay_says_which_setting_is_missing(env, capsys):
    assert main(["mail", "flush"]) == 2
    assert "ASSISTANT_SMTP_HOST is not set" in capsys.readouterr().err


def test_flush_sends_what_the_outbox_holds(env, capsys):
    relay = Relay().start()
    try:
        for name, value in relay.settings().items():
            env.setenv(f"ASSISTANT_{name.upper()}", str(value).lower())
        settings = Settings()
        queue = open_queue(None, settings.queue_path).open()
        mail = outgoing(kind="reply", to=USER, subject="Re: 提币 [工单 T1]", body="已到账",
                        sender=SUPPORT)
        queue.enqueue_mail(mail)
        queue.close()
        assert main(["mail", "flush"]) == 0
        assert json.loads(capsys.readouterr().out) == {"sent": 1, "failed": 0, "waiting": 0}
        (got,) = relay.wait(1)
        assert got["Message-ID"] == mail["message_id"] and body(got).strip() == "已到账"
    finally:
        relay.stop()
    assert main(["mail", "flush"]) == 0  # nothing left to send
    assert json.loads(capsys.readouterr().out)["sent"] == 0


@pytest.mark.slow
def test_mail_serve_answers_a_mail_and_stops_on_sigterm(starter_index, tmp_path):
    relay = Relay().start()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    environment.update({
        "ASSISTANT_INDEX_DIR": str(starter_index), "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_MAIL_INBOUND_ADDRESS": SUPPORT, "ASSISTANT_SMTP_HOST": "127.0.0.1",
        "ASSISTANT_SMTP_PORT": str(relay.port), "ASSISTANT_SMTP_STARTTLS": "false",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    log = tmp_path / "mail.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "mail", "serve",
                                 "--port", "0"], env=environment, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        port = None
        deadline = time.monotonic() + 120
        while port is None and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text("utf-8", "replace")
            found = re.search(r"on 127\.0\.0\.1:(\d+)", log.read_text("utf-8", "replace"))
            port = int(found.group(1)) if found else None
            time.sleep(0.2)
        assert port, log.read_text("utf-8", "replace")
        send(port, user_mail("钱包密码忘了怎么办", subject="忘记密码"))
        (answer,) = relay.wait(1, timeout=60)
        assert answer["To"] == USER and answer["Subject"] == "Re: 忘记密码"
        assert "密码" in body(answer) and "回复本邮件" in body(answer)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        relay.stop()


def test_a_bad_mail_setting_is_one_line_naming_it(env, capsys):
    env.setenv("ASSISTANT_MAIL_FROM", "support at example")
    env.setenv("ASSISTANT_SMTP_PASSWORD", "hunter2-secret")
    env.setenv("ASSISTANT_SMTP_PORT", "99999")
    assert main(["mail", "flush"]) == 2
    err = capsys.readouterr().err
    assert "ASSISTANT_MAIL_FROM must be a bare e-mail address" in err
    assert "ASSISTANT_SMTP_PORT must be between 1 and 65535" in err
    assert "hunter2" not in err and len(err.strip().splitlines()) == 1
