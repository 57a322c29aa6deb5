"""Waitress's options for a node: real option names, one trusted hop only behind a proxy."""

from __future__ import annotations

from waitress.adjustments import Adjustments

from kiosk.serving import waitress_options

CONFIG = {"HOST": "127.0.0.1", "PORT": 8000, "THREADS": 8, "MAX_CONTENT_LENGTH": 1024 * 1024}


def test_waitress_takes_every_option_and_outlasts_idle_sockets():
    adjustments = Adjustments(**waitress_options(CONFIG))  # raises on a name waitress lacks
    assert adjustments.connection_limit >= 1000 and adjustments.channel_timeout <= 30
    assert adjustments.asyncore_use_poll
    assert adjustments.max_request_body_size > CONFIG["MAX_CONTENT_LENGTH"]
    assert adjustments.trusted_proxy is None  # a kiosk or a laptop trusts no forwarding header


def test_behind_a_proxy_one_hop_is_trusted_and_other_headers_are_dropped():
    options = waitress_options({**CONFIG, "TRUSTED_PROXY": "127.0.0.1"})
    adjustments = Adjustments(**options)
    assert adjustments.trusted_proxy == "127.0.0.1" and adjustments.trusted_proxy_count == 1
    assert {"x-forwarded-for", "x-forwarded-proto"} <= adjustments.trusted_proxy_headers
    assert adjustments.clear_untrusted_proxy_headers
