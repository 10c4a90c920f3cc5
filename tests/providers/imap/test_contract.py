"""The shared mail contract, against a real Dovecot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.dovecot import DovecotServer
from tests.providers.contract import Backend, MailContract
from tests.providers.imap.helpers import DovecotBackend


class TestImapContract(MailContract):
    @pytest.fixture
    def backend(self, dovecot_server: DovecotServer) -> Iterator[Backend]:
        # small pages so "pages are bounded" really spans several pages
        yield DovecotBackend(dovecot_server, page_size=10)
