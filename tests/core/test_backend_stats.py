"""ctk.llm.BackendStats: thread-safe counters and their dict."""

from __future__ import annotations

import threading

from ctk.llm import BackendStats


def test_counters_add_up_across_threads_and_dict_lists_only_counters() -> None:
    stats = BackendStats()

    def work() -> None:
        for _ in range(500):
            stats.add(calls=1, prompt_tokens=3)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.add(failures=1)
    assert stats.as_dict() == {
        "calls": 2000,
        "failures": 1,
        "retries": 0,
        "prompt_tokens": 6000,
        "completion_tokens": 0,
    }
