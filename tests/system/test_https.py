"""A web node as deployed: the app behind a real nginx over HTTPS (deploy/nginx.conf).

The client below sends what a browser sends: cookies, and the Referer and Origin
that the page's own Referrer-Policy allows. Under the old `no-referrer` a
browser sent no Referer at all, and Flask-WTF refused every HTTPS form with
"This page has expired".
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from flask import request

from tests.helpers import answers_for, token
from tests.nginx import ROOT, SITE, site_values, waitress

EXPIRED = "This page has expired"
RECEIPT = "/status?reference="  # the receipt's status address
HSTS = "max-age=63072000; includeSubDomains"
CLIENT = "127.0.0.2"  # loopback too, but not nginx's own address
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def browser_headers(policy: str, page: str | None, target: str, method: str) -> dict[str, str]:
    """The Referer and Origin a browser sends from `page` to `target` under `policy`.

    As the Fetch and Referrer Policy specifications say; a page that names no
    policy gets the browsers' default, strict-origin-when-cross-origin.
    """
    if page is None:  # an address typed in
        return {}
    same = origin(page) == origin(target)
    if policy == "no-referrer":
        referer = None
    elif policy == "same-origin":
        referer = page if same else None
    else:
        referer = page if same else origin(page) + "/"
    headers = {"Referer": referer} if referer else {}
    if method == "POST":
        headers["Origin"] = "null" if policy == "no-referrer" else origin(page)
    return headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class _HTTPSFrom(urllib.request.HTTPSHandler):
    """HTTPS from a chosen local address, as a client on another machine would come."""

    def __init__(self, context: ssl.SSLContext, address: str) -> None:
        super().__init__(context=context)
        self.address = address

    def https_open(self, req):
        connection = functools.partial(
            http.client.HTTPSConnection, source_address=(self.address, 0)
        )
        return self.do_open(connection, req, context=self._context)


class _HTTPFrom(urllib.request.HTTPHandler):
    """Plain HTTP from a chosen local address."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    def http_open(self, req):
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.address, 0))
        return self.do_open(connection, req)


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    text: str


class HTTPSBrowser:
    """Cookies, Referer and Origin as a browser keeps and sends them; no redirects followed."""

    def __init__(self, base: str, context: ssl.SSLContext, address: str = CLIENT) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            _HTTPSFrom(context, address),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
        )
        self.page: str | None = None  # the address of the page on screen
        self.policy = "strict-origin-when-cross-origin"

    def open(self, path: str, data: dict | None = None, **headers: str) -> Page:
        url = self.base + path
        method = "GET" if data is None else "POST"
        sent = {"Accept-Language": "en", **browser_headers(self.policy, self.page, url, method)}
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(urllib.request.Request(url, body, sent), timeout=10) as answer:
                page = Page(answer.status, answer.headers, answer.read().decode())
        except urllib.error.HTTPError as error:
            page = Page(error.code, error.headers, error.read().decode())
        if page.status == 200:
            self.page = url
            self.policy = page.headers.get("Referrer-Policy", "strict-origin-when-cross-origin")
        return page

    def step(self, slug: str, data: dict) -> Page:
        """Open a step of the journey and press Continue with `data`."""
        form = self.open(f"/apply/{slug}")
        assert form.status == 200, (slug, form.status)
        return self.open(f"/apply/{slug}", {**data, "csrf_token": token(form.text)})


def journey(browser: HTTPSBrowser) -> Page:
    """Every step for an NGO, the declaration, and the receipt (asked for by the browser)."""
    for slug, data in answers_for("ngo"):
        answer = browser.step(slug, data)
        assert answer.status == 302, (slug, answer.status, answer.text[:300])
    sent = browser.step("declaration", {"consent": "y"})
    assert sent.status == 303, sent.text[:300]
    return browser.open("/apply/receipt")


def test_the_first_continue_over_https_is_accepted(web_node):
    _app, front = web_node
    browser = HTTPSBrowser(front.url, front.ssl_context())
    assert browser.open("/").status == 200
    answer = browser.step("applicant-type", {"applicant_type": "ngo"})
    assert EXPIRED not in answer.text
    assert (answer.status, answer.headers["Location"]) == (302, "/apply/organisation")


def test_a_form_sent_from_another_site_is_still_refused(web_node):
    _app, front = web_node
    browser = HTTPSBrowser(front.url, front.ssl_context())
    form = browser.open("/apply/applicant-type")
    browser.page, browser.policy = "https://evil.example/apply", "strict-origin-when-cross-origin"
    answer = browser.open(
        "/apply/applicant-type", {"applicant_type": "ngo", "csrf_token": token(form.text)}
    )
    assert answer.status == 400 and EXPIRED in answer.text


def test_hsts_over_https_and_a_redirect_without_it_over_http(web_node):
    _app, front = web_node
    secure = HTTPSBrowser(front.url, front.ssl_context()).open("/")
    assert secure.headers["Strict-Transport-Security"] == HSTS
    plain = urllib.request.build_opener(_NoRedirect())
    try:
        plain.open(front.http_url + "/apply/title?lang=kk", timeout=10)
    except urllib.error.HTTPError as error:
        redirect = error
    assert redirect.code == 301
    assert redirect.headers["Location"] == front.url + "/apply/title?lang=kk"
    assert "Strict-Transport-Security" not in redirect.headers
    with urllib.request.urlopen(front.upstream + "/", timeout=10) as direct:
        assert "Strict-Transport-Security" not in direct.headers  # plain HTTP to the node


def test_cookies_are_secure_over_https(web_node):
    _app, front = web_node
    browser = HTTPSBrowser(front.url, front.ssl_context())
    answer = browser.step("applicant-type", {"applicant_type": "ngo"})
    set_cookie = answer.headers.get_all("Set-Cookie")
    assert set_cookie and all("; Secure" in cookie for cookie in set_cookie), set_cookie
    assert all(cookie.secure for cookie in browser.cookies)


def test_the_client_address_is_the_one_nginx_saw(web_node):
    app, front = web_node
    app.add_url_rule("/test-remote-addr", "remote_addr", lambda: request.remote_addr or "")
    browser = HTTPSBrowser(front.url, front.ssl_context(), address=CLIENT)
    assert browser.open("/test-remote-addr").text == CLIENT
    forged = browser.open("/test-remote-addr", X_Forwarded_For="203.0.113.9")
    assert forged.text == CLIENT
    # Straight to the node from an address that is not the proxy: the header is ignored.
    node = urllib.request.Request(
        front.upstream + "/test-remote-addr", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    with urllib.request.build_opener(_HTTPFrom(CLIENT)).open(node, timeout=10) as answer:
        assert answer.read().decode() == CLIENT


def test_the_receipt_uses_the_public_url_whatever_host_is_sent(web_node):
    _app, front = web_node
    browser = HTTPSBrowser(front.url, front.ssl_context())
    journey(browser)
    receipt = browser.open("/apply/receipt", Host="evil.example")
    assert receipt.status == 200 and RECEIPT in receipt.text
    assert "evil.example" not in receipt.text
    assert re.search(re.escape(front.url) + r"/status\?reference=[0-9A-Z-]+", receipt.text)


class Tricklers:
    """Sockets that send a request header one byte at a time, as slowly as an attacker likes."""

    HEADER = b"GET /apply/applicant-type HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200

    def __init__(self, port: int, context: ssl.SSLContext, count: int) -> None:
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.sockets.append(context.wrap_socket(raw, server_hostname="127.0.0.1"))
        self.open = set(range(count))
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)

    def _trickle(self) -> None:
        deadline = time.monotonic() + 20
        for byte in self.HEADER:
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            for number in list(self.open):
                try:
                    self.sockets[number].send(bytes([byte]))
                except OSError:
                    self.open.discard(number)
            self.stop.wait(0.5)

    def __enter__(self) -> Tricklers:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


def test_two_hundred_slow_clients_at_nginx_do_not_stop_a_journey(web_node):
    _app, front = web_node
    context = front.ssl_context()
    port = urllib.parse.urlsplit(front.url).port
    with Tricklers(port, context, count=200) as slow:
        started = time.monotonic()
        receipt = journey(HTTPSBrowser(front.url, context))
        took = time.monotonic() - started
        still_trickling = len(slow.open)
    assert receipt.status == 200 and RECEIPT in receipt.text
    assert took < 10, f"the journey took {took:.1f} s beside slow clients"
    assert still_trickling > 150, "the slow clients were cut off before the journey ended"


def test_a_request_is_answered_beside_110_idle_connections_to_waitress(app):
    with waitress(app) as url:
        address = urllib.parse.urlsplit(url)
        idle = [
            socket.create_connection((address.hostname, address.port), timeout=5)
            for _ in range(110)
        ]
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as answer:
                assert answer.status == 200
        finally:
            for sock in idle:
                sock.close()


def test_the_readme_fills_in_the_placeholders_the_tests_fill_in():
    """README.md's `sed` line and tests/nginx.py render deploy/nginx.conf the same way."""
    lines = SITE.read_text().splitlines()
    in_site = {
        name for line in lines if not line.startswith("#") for name in PLACEHOLDER.findall(line)
    }
    readme = (ROOT / "README.md").read_text()
    in_readme = set(re.findall(r"-e 's\|\{\{(\w+)\}\}\|[^|]+\|g'", readme))
    in_tests = set(site_values(80, 443, "http://127.0.0.1:8000", ROOT, ROOT))
    assert in_site == in_readme == in_tests
