"""The scripted provider's own behaviour (tests/scripted.py), engine tests rely on."""

from __future__ import annotations

import pickle

import pytest

from providers.base import Page, ProviderContext
from providers.errors import CursorExpired, TransientError
from tests.scripted import Fault, Script, ScriptedAccount, ScriptedFactory, empty_pages


def test_a_pass_resumes_after_the_stored_cursor_of_each_resource() -> None:
    script = Script([Page("INBOX", [], cursor={"n": 1}), Page("Sent", [], cursor={"s": 1}),
                     Page("INBOX", [], cursor={"n": 2})])
    factory = ScriptedFactory({"a": script})
    provider = factory(ScriptedAccount("a"), ProviderContext())
    assert [p.cursor for p in provider.sync({"INBOX": {"n": 1}})] == [{"s": 1}, {"n": 2}]
    script.deliver(Page("INBOX", [], cursor={"n": 3}))
    assert [p.cursor for p in provider.sync({"INBOX": {"n": 2}, "Sent": {"s": 1}})] == [
        {"n": 3}]
    with pytest.raises(CursorExpired) as refused:
        list(provider.sync({"INBOX": {"n": 99}}))
    assert refused.value.resource == "INBOX"
    assert provider.calls[0] == {"INBOX": {"n": 1}} and len(factory.made) == 1


def test_faults_are_taken_one_per_call_after_their_pages() -> None:
    script = Script(empty_pages(3), faults=[Fault(after=2, error=TransientError("reset"))])
    provider = ScriptedFactory({"a": script})(ScriptedAccount("a"), ProviderContext())
    seen = []
    with pytest.raises(TransientError):
        for page in provider.sync({}):
            seen.append(page.cursor)
    assert seen == [{"page": 1}, {"page": 2}]
    assert [p.cursor for p in provider.sync({})] == [{"page": n} for n in (1, 2, 3)]
    provider.close()
    assert provider.closed and provider.closes == 1


def test_an_exit_fault_refuses_to_end_the_test_process() -> None:
    provider = ScriptedFactory({"a": Script(faults=[Fault(exit_code=3)])})(
        ScriptedAccount("a"), ProviderContext())
    with pytest.raises(RuntimeError, match="only in a fetch process"):
        list(provider.sync({}))


def test_only_a_sendable_factory_can_be_pickled() -> None:
    with pytest.raises(TypeError, match="in-process"):
        pickle.dumps(ScriptedFactory({"a": Script()}))
    copy = pickle.loads(pickle.dumps(ScriptedFactory({"a": Script(empty_pages(1))},
                                                     sendable=True)))
    provider = copy(ScriptedAccount("a"), ProviderContext())
    assert [p.cursor for p in provider.sync({})] == [{"page": 1}]
