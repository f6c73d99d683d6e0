"""Agents cut off together do not come back together (issue 13, REL-1): after a connection that
was up is lost, the agent's first try waits anywhere in Backoff.spread (full jitter), then the
exponential backoff with jitter follows."""

from __future__ import annotations

from collections import Counter

from relaydesk.agent import link


def test_the_first_tries_of_agents_cut_off_together_spread_over_the_window() -> None:
    backoff = link.Backoff()
    firsts = [backoff.after_loss() for _ in range(10_000)]
    assert all(0 <= wait <= backoff.spread for wait in firsts)
    # 10,000 agents losing their server at once: every half second of the window gets its
    # share (a tenth, give or take), none gets them all, as the former 0.25-0.5 s did.
    per_half_second = Counter(int(wait / 0.5) for wait in firsts)
    assert sorted(per_half_second) == list(range(10))
    assert max(per_half_second.values()) < 1_300, per_half_second
    assert min(per_half_second.values()) > 700, per_half_second
