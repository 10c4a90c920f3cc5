"""Build google-api-python-client services that talk only where config says.

* Discovery documents come from the installed package (``static_discovery``),
  so building a service never touches the network.
* Credentials are always explicit (never "application default"), wrapped in
  an ``AuthorizedHttp`` over our own ``httplib2.Http`` so the request timeout
  is configurable; 308 is not followed (as the library's own ``build_http``).
* ``client_options.api_endpoint`` replaces root URL + service path, which is
  how tests reach the local stand-in. The batch URI is configured separately
  (``service.new_batch_http_request()`` would ignore the endpoint).
"""

from __future__ import annotations

from typing import Any

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2
from google.auth.credentials import Credentials
from googleapiclient.discovery import build


def authorized_http(credentials: Credentials, timeout: float) -> Any:
    http = httplib2.Http(timeout=timeout)
    http.redirect_codes = http.redirect_codes - {308}
    return google_auth_httplib2.AuthorizedHttp(credentials, http=http)


def build_service(api: str, version: str, credentials: Credentials, *, endpoint: str,
                  timeout: float) -> Any:
    return build(api, version, http=authorized_http(credentials, timeout),
                 static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": endpoint})
