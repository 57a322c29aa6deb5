"""Requests per second and bytes per page, measured the way the node serves them.

`python bench/pages.py` serves the app and a bare Flask "hello" app side by side, both with
waitress and the same number of threads, on 127.0.0.1 only. Then it

1. drives each with the same number of keep-alive client connections and prints the
   requests/s of the start page and two question pages, and their ratio to "hello";
2. fetches every page of the journey with gzip off, follows everything the page loads
   (stylesheets, icons, scripts, images, url(...) and @import in the CSS) and adds up the
   bytes against the budget of 30 KB before fonts, with no request to another origin.

The servers and the clients share this one process and its GIL, so the absolute figures are
lower than a separate client would measure; the ratio to "hello" is the figure to compare
between runs and machines. Every loop stops at a time limit and a request limit.

The exit status is 1 if a page is over budget, loads from another origin or does not answer
as expected, or if a measured request failed; 0 otherwise, so `make bench` can be a check.
"""

# ruff: noqa: E402 (the imports come after the sys.path fix just below)
from __future__ import annotations

import os
import sys

# Run as `python bench/pages.py`, Python puts bench/ first on sys.path, where any other script
# in that folder (bench/queue.py, say) would hide the standard module of the same name. Take
# bench/ off, and put the repo root first so that `import kiosk` finds this checkout.
BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [path for path in sys.path if os.path.abspath(path or os.curdir) != BENCH]
sys.path.insert(0, os.path.dirname(BENCH))

import argparse
import http.client
import logging
import platform
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

from flask import Flask
from waitress.server import create_server

from kiosk import create_app
from kiosk.config import DEFAULTS

HOST = "127.0.0.1"
BUDGET = 30 * 1024
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf", ".eot")
SESSION_COOKIE = "kiosk_session"

# Pages measured for requests/s: (name, which server, path).
LOAD_TARGETS = [
    ("hello", "hello", "/"),
    ("start", "app", "/?lang=kk"),
    ("applicant-type", "app", "/apply/applicant-type?lang=kk"),
    ("region (20 radios)", "app", "/apply/region?lang=kk"),
]


@dataclass(frozen=True)
class Page:
    """A page of the journey to weigh.

    `applicant_type` is answered first for the pages that are only shown after it: without
    the answer, /apply/organisation and /apply/person redirect to the first question.
    """

    path: str
    status: int = 200
    applicant_type: str | None = None


JOURNEY = [
    Page("/"),
    Page("/apply/applicant-type"),
    Page("/apply/organisation", applicant_type="ngo"),
    Page("/apply/person", applicant_type="individual"),
    Page("/apply/region"),
    Page("/apply/contact"),
    Page("/apply/title"),
    Page("/apply/target-groups"),
    Page("/apply/problem"),
    Page("/apply/activities"),
    Page("/apply/results"),
    Page("/apply/settlement"),
    Page("/apply/start-date"),
    Page("/apply/people"),
    Page("/apply/funding"),
    Page("/no-such-page", status=404),
]


# Serving


def hello_app() -> Flask:
    """The smallest Flask app: the floor that the real pages are compared with."""
    app = Flask("hello")

    @app.get("/")
    def hello() -> str:
        return "hello"

    return app


@contextmanager
def serve(app: Flask, threads: int) -> Iterator[int]:
    """Serve `app` with waitress on a free loopback port in a background thread; yield the port."""
    server = create_server(app, host=HOST, port=0, threads=threads)
    thread = threading.Thread(target=server.run, name=f"waitress-{app.name}", daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        # Let the worker threads finish their last responses first, then close the listening
        # socket from the server's own loop thread, where waitress expects it.
        server.task_dispatcher.shutdown(timeout=5)
        server.trigger.pull_trigger(server.close)
        thread.join(timeout=5)


# Requests per second


@dataclass
class Run:
    """What one client connection, or all of them together, did."""

    requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.samples) < 3:
            self.samples.append(message)

    def add(self, other: Run) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.samples.extend(other.samples[: 3 - len(self.samples)])


def hammer(port: int, path: str, deadline: float, limit: int) -> Run:
    """GET `path` over one keep-alive connection until the deadline or `limit` requests.

    The whole body is read, so the server's work of sending it is counted, and every
    response must be 200: a fast error page must not pass for a fast page.
    """
    run = Run()
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        while run.requests + run.errors < limit and time.perf_counter() < deadline:
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                run.error(f"{type(error).__name__}: {error}")
                connection.close()  # http.client opens a new connection on the next request
                continue
            if response.status == 200:
                run.requests += 1
            else:
                run.error(f"status {response.status}")
    finally:
        connection.close()
    return run


@dataclass
class Rate:
    """A page's requests per second, over all the rounds it was measured in."""

    name: str
    path: str
    run: Run = field(default_factory=Run)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    rounds: list[float] = field(default_factory=list)

    def add(self, run: Run, seconds: float, cpu_seconds: float) -> None:
        self.run.add(run)
        self.seconds += seconds
        self.cpu_seconds += cpu_seconds
        self.rounds.append(run.requests / seconds)

    @property
    def per_second(self) -> float:
        return self.run.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """CPU time of this process (server and client) per request.

        Other programs on the machine lower requests/s, but hardly this figure.
        """
        return 1000 * self.cpu_seconds / self.run.requests if self.run.requests else 0.0


def measure(
    port: int, path: str, seconds: float, limit: int, concurrency: int
) -> tuple[Run, float, float]:
    """Send requests from `concurrency` client threads at once.

    Returns what they did, the seconds it took, and the CPU seconds this process used.
    """
    cpu_started = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    per_client = max(1, limit // concurrency)
    total = Run()
    with ThreadPoolExecutor(concurrency) as pool:
        futures = [
            pool.submit(hammer, port, path, deadline, per_client) for _ in range(concurrency)
        ]
        for future in futures:
            total.add(future.result())
    return total, time.perf_counter() - started, time.process_time() - cpu_started


def load(ports: dict[str, int], args: argparse.Namespace) -> list[Rate]:
    """Warm every page up, then measure the pages in turn, in short rounds.

    One page at a time, so they do not compete. Taking turns round after round, instead of
    measuring one page for the whole duration and then the next, means that a change in the
    machine's background load hits every page alike, and the ratios to "hello" stay fair.
    """
    for _name, server, path in LOAD_TARGETS:
        measure(ports[server], path, args.warmup, args.requests, args.concurrency)
    rates = [Rate(name, path) for name, _server, path in LOAD_TARGETS]
    seconds, limit = args.duration / args.rounds, max(1, args.requests // args.rounds)
    for _ in range(args.rounds):
        for rate, (_name, server, path) in zip(rates, LOAD_TARGETS, strict=True):
            rate.add(*measure(ports[server], path, seconds, limit, args.concurrency))
    return rates


# Bytes per page


@dataclass
class Response:
    """A response read in full, so that its length is what travelled."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


def fetch(
    port: int, path: str, cookie: str = "", method: str = "GET", form: dict | None = None
) -> Response:
    """One request on a new connection, without gzip (http.client asks for identity)."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    body = None
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def session_cookie(response: Response, current: str = "") -> str:
    """The session cookie the response sets, or the one we had."""
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie = SimpleCookie(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    return current


class PageParser(HTMLParser):
    """Collect what a browser loads to show the page, and the form's CSRF token."""

    LOADED_RELS = {"stylesheet", "icon", "apple-touch-icon", "preload", "modulepreload"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.csrf_token = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        rels = set(attributes.get("rel", "").lower().split())
        if tag == "link" and rels & self.LOADED_RELS:
            self.urls.append(attributes.get("href", ""))
        elif tag in ("script", "img") and attributes.get("src"):
            self.urls.append(attributes["src"])
        elif tag == "input" and attributes.get("name") == "csrf_token":
            self.csrf_token = attributes.get("value", "")


def parse(html: bytes) -> PageParser:
    """Parse a page as a browser would see it: our pages are UTF-8."""
    parser = PageParser()
    parser.feed(html.decode("utf-8", errors="replace"))
    parser.close()
    return parser


CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""")


def css_urls(css: bytes) -> list[str]:
    """The url(...) and @import "..." references in a stylesheet."""
    text = css.decode("utf-8", errors="replace")
    return [match.group(2) or match.group(4) for match in CSS_URL.finditer(text)]


def resolve(base: str, references: list[str]) -> list[str]:
    """Absolute URLs of the references that load something (not "" or "#fragment")."""
    return [urljoin(base, ref.strip()) for ref in references if ref.strip()[:1] not in ("", "#")]


@dataclass
class Weight:
    """What one page costs: its HTML and everything it loads, with gzip off."""

    path: str
    status: int
    html: int
    resources: dict[str, int] = field(default_factory=dict)
    fonts: dict[str, int] = field(default_factory=dict)
    other_origins: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """HTML and resources, before fonts: the figure the 30 KB budget is about."""
        return self.html + sum(self.resources.values())

    @property
    def ok(self) -> bool:
        """Within budget, nothing from another origin, and every answer as expected."""
        return self.total <= BUDGET and not self.other_origins and not self.problems


def answer_applicant_type(port: int, value: str) -> str:
    """Answer "Who is applying?" in a new session; return its cookie.

    The organisation and person pages are only shown once this is answered.
    """
    page = fetch(port, "/apply/applicant-type?lang=kk")
    cookie = session_cookie(page)
    form = {"csrf_token": parse(page.body).csrf_token, "applicant_type": value}
    answered = fetch(port, "/apply/applicant-type?lang=kk", cookie, "POST", form)
    if answered.status != 302:
        raise RuntimeError(f"answering applicant_type={value} gave status {answered.status}")
    return session_cookie(answered, cookie)


def weigh(port: int, page: Page) -> Weight:
    """Fetch a page and, once each, everything it loads; add up the bytes."""
    origin = f"http://{HOST}:{port}"
    cookie = answer_applicant_type(port, page.applicant_type) if page.applicant_type else ""
    path = f"{page.path}?lang=kk"
    response = fetch(port, path, cookie)
    weight = Weight(page.path, response.status, len(response.body))
    if response.status != page.status:
        weight.problems.append(f"{page.path}: status {response.status}, not {page.status}")
    page_url = origin + path
    pending = resolve(page_url, parse(response.body).urls)
    seen = set()
    while pending and len(seen) < 100:
        url = pending.pop(0)
        if url in seen or url.startswith("data:"):
            continue  # data: URLs are inline, so they cost no request
        seen.add(url)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin:
            weight.other_origins.append(url)  # flagged, never fetched: traffic stays local
            continue
        local = parts.path + (f"?{parts.query}" if parts.query else "")
        resource = fetch(port, local)
        if resource.status != 200:
            weight.problems.append(f"{local}: status {resource.status}")
        sizes = weight.fonts if parts.path.lower().endswith(FONT_SUFFIXES) else weight.resources
        sizes[local] = len(resource.body)
        if "css" in resource.headers.get("Content-Type", ""):
            pending.extend(resolve(url, css_urls(resource.body)))
    return weight


# Output


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain text table: first column left-aligned, the others right-aligned."""
    cells = [headers] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def machine_facts(args: argparse.Namespace) -> str:
    """What the figures depend on, printed with them so that runs can be compared."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    facts = {
        "CPUs (os.cpu_count / usable)": f"{os.cpu_count()} / {usable}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Platform": platform.platform(),
        "Flask / waitress": f"{version('flask')} / {version('waitress')}",
        "waitress threads (each server)": args.threads,
        "client connections": args.concurrency,
        "warm-up / duration per page": f"{args.warmup:g} s / {args.duration:g} s",
        "rounds (pages take turns)": args.rounds,
        "request limit per page": args.requests,
    }
    width = max(len(name) for name in facts)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in facts.items())


def rates_table(rates: list[Rate]) -> str:
    """Requests/s of each page, and how it compares with "hello" (the first row)."""
    hello = rates[0].per_second
    rows = [
        [
            rate.name,
            rate.path,
            rate.run.requests,
            f"{rate.per_second:,.0f}",
            f"{min(rate.rounds):,.0f}-{max(rate.rounds):,.0f}",
            f"{rate.per_second / hello:.2f}" if hello else "-",
            f"{rate.cpu_ms:.2f}",
            rate.run.errors,
        ]
        for rate in rates
    ]
    headers = [
        "page",
        "path",
        "requests",
        "requests/s",
        "rounds min-max",
        "ratio",
        "CPU ms/req",
        "errors",
    ]
    return table(headers, rows)


def weights_table(weights: list[Weight]) -> str:
    """Bytes of each page and what it loads, against the budget."""
    rows = [
        [
            weight.path,
            weight.status,
            weight.html,
            sum(weight.resources.values()),
            weight.total,
            f"{100 * weight.total / BUDGET:.0f} %",
            sum(weight.fonts.values()),
            len(weight.other_origins),
            "ok" if weight.ok else "FAIL",
        ]
        for weight in weights
    ]
    headers = [
        "page",
        "status",
        "HTML B",
        "resources B",
        "total B",
        "of 30 KB",
        "fonts B",
        "other origins",
        "check",
    ]
    return table(headers, rows)


def resources_table(weights: list[Weight]) -> str:
    """Each file the pages load, once: where the bytes shared by every page come from."""
    sizes: dict[str, tuple[int, int]] = {}
    for weight in weights:
        for url, size in {**weight.resources, **weight.fonts}.items():
            count = sizes.get(url, (size, 0))[1]
            sizes[url] = (size, count + 1)
    rows = [[url, size, count] for url, (size, count) in sorted(sizes.items())]
    return table(["resource", "bytes", "loaded by pages"], rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=float, default=5.0, help="seconds measured per page (default 5)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="take turns between the pages this many times within the duration (default 5)",
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of warm-up per page (default 1)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=100_000,
        help="at most this many requests per page, warm-up and measure each (default 100000)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(DEFAULTS["KIOSK_THREADS"]),
        help="waitress threads for each server (default: KIOSK_THREADS default, %(default)s)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="client connections at once (default 8)"
    )
    parser.add_argument(
        "--weight-only", action="store_true", help="skip the requests/s part: only weigh pages"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be more than 0 and --warmup at least 0")
    if min(args.requests, args.threads) < 1:
        parser.error("--requests and --threads must be at least 1")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    if not 1 <= args.concurrency <= 64:
        parser.error("--concurrency must be between 1 and 64")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Under full load a request waits a moment for a free thread; that is what is measured.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as folder:
        tmp = Path(folder)
        app = create_app(
            {"INSTANCE": tmp, "DATABASE": str(tmp / "kiosk.sqlite3"), "SECRET_KEY": "bench"}
        )
        with serve(app, args.threads) as app_port, serve(hello_app(), args.threads) as hello_port:
            print(machine_facts(args), end="\n\n", flush=True)
            errors = 0
            if not args.weight_only:
                rates = load({"app": app_port, "hello": hello_port}, args)
                errors = sum(rate.run.errors for rate in rates)
                print("Requests per second (every response checked for status 200)")
                print(rates_table(rates))
                print("ratio: requests/s of the page / requests/s of hello")
                print("CPU ms/req: CPU time of this process (servers and clients) per request")
                print()
                for rate in rates:
                    for sample in rate.run.samples:
                        print(f"error on {rate.path}: {sample}")
            weights = [weigh(app_port, page) for page in JOURNEY]
    print(f"Bytes per page, gzip off, ?lang=kk (budget: {BUDGET} B before fonts)")
    print(weights_table(weights), end="\n\n")
    print(resources_table(weights), end="\n\n")
    failed = [weight for weight in weights if not weight.ok]
    for weight in failed:
        if weight.total > BUDGET:
            print(f"OVER BUDGET: {weight.path} is {weight.total} B, budget {BUDGET} B")
        for url in weight.other_origins:
            print(f"OTHER ORIGIN: {weight.path} loads {url}")
        for problem in weight.problems:
            print(f"PROBLEM: {problem}")
    if errors:
        print(f"{errors} measured request(s) failed")
    if failed or errors:
        return 1
    print("All pages within budget, nothing loaded from another origin.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
