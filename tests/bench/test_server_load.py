"""The server-load harness's parts: synthetic KBs, the requests it sends, targets and the
report."""

from __future__ import annotations

import json

import pytest

from assistant.knowledge.kb import content_hash, load_kb
from bench import server_load


def test_synthetic_kb_is_valid_and_sized(tmp_path):
    root = server_load.synthetic_kb(tmp_path / "kb", 40, questions=4)
    kb = load_kb(root)  # raises on any invalid file
    assert len(kb.articles) == 40 and len(kb.ids()) == 20
    assert all(len(a.questions) == 4 for a in kb.articles)
    assert {a.lang for a in kb.articles} == {"en", "zh"}
    assert len(kb.out_of_scope) > 50
    before = content_hash(root)
    edited = server_load.edit_one_article(root)
    assert content_hash(root) != before
    assert "one more way users ask this" in edited.read_text("utf-8")
    assert len(load_kb(root).articles) == 40


def test_synthetic_kb_refuses_more_than_it_can_make(tmp_path):
    with pytest.raises(ValueError, match="at most"):
        server_load.synthetic_kb(tmp_path / "kb", 10**6)


def test_requests_are_eval_messages_whole_and_typed_so_far():
    reqs = server_load.load_requests(6)
    assert len(reqs["answer"]) == len(reqs["search"]) == 6
    head, body = reqs["answer"][0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /answer HTTP/1.1") and json.loads(body)["query"]
    assert all(r.startswith(b"GET /search?q=") and b"&k=5 HTTP/1.1" in r
               for r in reqs["search"])


def _report(answer_p50: float, rps_2w: float) -> dict:
    runs = [{"route": "answer", "workers": 1, "concurrency": 4, "p50_ms": 99.0,
             "p99_ms": 99.0, "rps": 50.0, "requests": 10, "p95_ms": 99.0, "errors": 0},
            {"route": "answer", "workers": 2, "concurrency": 4, "p50_ms": answer_p50,
             "p99_ms": 12.0, "rps": 300.0, "requests": 10, "p95_ms": 9.0, "errors": 0},
            {"route": "search", "workers": 2, "concurrency": 4, "p50_ms": 2.0, "p99_ms": 5.0,
             "rps": 500.0, "requests": 10, "p95_ms": 4.0, "errors": 0},
            {"route": "answer", "workers": 2, "concurrency": 16, "p50_ms": 9.0, "p99_ms": 30.0,
             "rps": rps_2w, "requests": 10, "p95_ms": 20.0, "errors": 0}]
    build = {"wall_s": 3.0, "build_s": 1.5, "articles": 10, "vectors": 50, "article_ids": 5,
             "backend": "onnx", "article_classifier": True, "output": ""}
    return {"kind": "quick", "started_at": "2026-01-01T00:00:00+00:00", "backend": "onnx",
            "model": "m", "seconds": 1.0, "load_average_after": [1.0, 1.0, 1.0],
            "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 4.0, "python": "3.11",
                        "torch": None, "onnxruntime": "1.0", "load_average": [0.5, 0.5, 0.5]},
            "server": {"cold_start_s": [0.8, 0.9, 1.4], "rss_mb_idle": [150.0],
                       "rss_mb_after_load": {"1": [180.0], "2": [170.0, 210.0]}, "runs": runs},
            "builds": {"starter": {"cold": build, "one_article_changed": build},
                       "synthetic_1000": {"cold": {**build, "build_s": 20.0},
                                          "one_article_changed": build}}}


def test_targets_are_judged_from_the_measurements():
    report = _report(answer_p50=4.0, rps_2w=450.0)
    got = {t["target"].split(" (")[0]: (t["measured"], t["met"])
           for t in server_load.check_targets(report)}
    assert got["answer_p50_ms_c4"] == (4.0, True)  # judged with 2 workers, as deployed
    assert got["answer_rps_2_workers"] == (450.0, True)
    assert got["cold_start_s"] == (0.9, True)  # the median of the cold starts
    assert got["rss_mb_per_worker"] == (210.0, False)  # the largest worker counts
    assert got["build_1000_s"] == (20.0, False)
    assert got["incremental_s"] == (1.5, True)
    slow = {t["target"].split(" (")[0]: t["met"]
            for t in server_load.check_targets(_report(6.0, 100.0))}
    assert slow["answer_p50_ms_c4"] is False and slow["answer_rps_2_workers"] is False


def test_targets_not_measured_are_neither_met_nor_missed():
    report = _report(4.0, 450.0)
    report["builds"] = {}
    got = {t["target"]: t["met"] for t in server_load.check_targets(report)}
    assert got["build_1000_s"] is None and got["incremental_s"] is None


def test_report_names_the_machine_and_load(tmp_path):
    report = _report(4.0, 450.0)
    report["targets"] = server_load.check_targets(report)
    json_path, md_path = server_load.write_reports(report, tmp_path)
    md = md_path.read_text("utf-8")
    assert "Test CPU, 2 cores" in md and "Load average at the start: 0.5" in md
    assert "| `POST /answer` | 2 | 16 |" in md and "| synthetic_1000 |" in md
    assert json_path.name == "bench-quick.json"
    full = {**report, "kind": "full"}
    assert [p.name for p in server_load.write_reports(full, tmp_path)] == ["bench.json",
                                                                           "bench.md"]


def test_report_folder_is_bench_reports():
    from assistant.core.config import ROOT
    from bench import REPORTS

    assert REPORTS == ROOT / "bench" / "reports"


def test_bad_worker_counts_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        server_load.main(["--workers", "one,two"])
    assert exc.value.code == 2 and "worker counts like 1,2" in capsys.readouterr().err
