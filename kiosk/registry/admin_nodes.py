"""The registry's page of every node, /admin/nodes: the ones to act on first.

Every registered node from reports_store.overview, each flag said in words (never by colour
alone), PER_PAGE at a time with GOV.UK's pagination, and a GET form that keeps to the nodes
needing attention or to one region. Times are the page's time zone, named as an offset.
The view is registered by admin_views, behind its sign-in; nothing here knows who is
signed in.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_timezone, gettext
from flask_babel import lazy_gettext as _l

from ..competition import regions
from ..i18n import current_language, plural
from . import reports_store
from .admin_forms import NodesFilter
from .database import get_db


def flag_texts(status: reports_store.NodeStatus) -> list[str]:
    """Each flag of a node in words, in the page's language."""
    texts = {
        reports_store.SILENT: (
            gettext("No report for more than 24 hours")
            if status.report
            else gettext("Has never reported")
        ),
        reports_store.WAITING: gettext("An application has waited more than a day to be sent"),
        reports_store.CLOCK: gettext("The clock is more than 5 minutes off"),
        reports_store.DISK: gettext("The disk is nearly full"),
    }
    if status.report is not None:  # only a report can tell of dead items
        dead = status.report.dead
        texts[reports_store.DEAD] = plural(
            "%(num)s application could not be sent",
            "%(num)s applications could not be sent",
            dead,
        )
    return [texts[flag] for flag in status.flags]


def _place(report: reports_store.Report | None) -> str:
    """The kiosk's name, centre and region (in the page's language) a node reported."""
    if report is None:
        return ""
    region = regions().get(report.region) if report.region else None
    names = [report.kiosk_id, report.centre, region.names[current_language()] if region else None]
    return ", ".join(name for name in names if name)


def _gigabytes(size: int) -> str:
    return gettext("%(size)s GB", size=format_decimal(size / 1024**3, format="#,##0.0"))


def _offset(moment: datetime) -> str:
    """The page's time zone as an offset people read: UTC+5."""
    offset = moment.astimezone(get_timezone()).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def rows(statuses: list[reports_store.NodeStatus]) -> list[dict]:
    """The table's rows: flagged nodes first, then by node id (overview's order)."""
    ordered = sorted(statuses, key=lambda status: not status.flags)
    made = []
    for status in ordered:
        report = status.report
        made.append(
            {
                "node_id": status.node_id,
                "place": _place(report),
                "disabled": status.disabled,
                "flags": flag_texts(status),
                "received_at": report.received_at if report else None,
                "undelivered": (
                    sum(report.outbox[state] for state in ("queued", "sending", "waiting"))
                    if report
                    else None
                ),
                "disk": _gigabytes(report.disk_free_bytes) if report else None,
            }
        )
    return made


# Paging: flagged nodes first, then the rest, PER_PAGE at a time. A page weighs, with
# everything it loads, at most 30 KB; the stylesheets and the page around the table take
# about 20 KB of it, and the heaviest row (a centre's name as long as a report may carry,
# 200 characters, and every flag, in Kazakh or Russian) about 1.1 KB: six such rows leave
# nearly 4 KB to spare (tests/web/test_registry_admin.py weighs the pages of 500 nodes).
# The list is read whole and ordered in Python (reports_store.overview works the flags out
# there): a country's few hundred nodes are quickly read.
PER_PAGE = 6
PAGE_DIGITS = 9  # a longer "page number" is no page anyone was sent to: past the end


def nodes_filter() -> NodesFilter:
    """The page's filter as asked on the URL, its regions in the page's language."""
    form = NodesFilter(request.args)
    language = current_language()
    form.region.choices = [("", gettext("All regions"))] + [
        (code, region.names[language]) for code, region in regions().items()
    ]
    if form.region.data not in regions():
        form.region.data = ""
    return form


def _wanted(status: reports_store.NodeStatus, attention: bool, region: str) -> bool:
    if attention and not status.flags:
        return False
    return not region or (status.report is not None and status.report.region == region)


def _page_number(asked: str | None, pages: int) -> tuple[int, bool]:
    """The page to show for ?page=, and whether the one asked for was past the last.

    No number, or not a whole number from 1, is the first page; past the end, the last.
    """
    if not asked or not asked.isascii() or not asked.isdigit():
        return 1, False
    if len(asked) > PAGE_DIGITS or int(asked) > pages:
        return pages, True
    return max(1, int(asked)), False


def page_links(number: int, pages: int) -> list[int | None]:
    """The page numbers to link, GOV.UK's way: the first, the last, this one and its two
    neighbours; None for an ellipsis, which never stands for a single page."""
    shown = sorted({1, pages, number - 1, number, number + 1} & set(range(1, pages + 1)))
    links: list[int | None] = []
    for page in shown:
        if links and page - links[-1] == 2:
            links.append(page - 1)
        elif links and page - links[-1] > 2:
            links.append(None)
        links.append(page)
    return links


def nodes():
    """/admin/nodes (registered by admin_views behind its sign-in)."""
    now = datetime.now(UTC)
    ordered = sorted(reports_store.overview(get_db(), now), key=lambda status: not status.flags)
    flagged = sum(1 for status in ordered if status.flags)
    summary = gettext(
        "%(nodes)s, %(attention)s.",
        nodes=plural("%(num)s node", "%(num)s nodes", len(ordered)),
        attention=plural("%(num)s needs attention", "%(num)s need attention", flagged),
    )
    form = nodes_filter()
    attention, region = bool(form.attention.data), form.region.data
    selected = [status for status in ordered if _wanted(status, attention, region)]
    pages = max(1, math.ceil(len(selected) / PER_PAGE))
    number, past_end = _page_number(request.args.get("page"), pages)
    chosen = {"attention": "y" if attention else None, "region": region or None}

    def link(page: int) -> str:
        return url_for("registry_admin.nodes", **chosen, page=page if page > 1 else None)

    # Anything else on the URL (a page past the end, "page=two", an unknown region) goes to
    # the address of what is shown, so the address, the page and its links all agree.
    given = {key: value for key, value in request.args.items() if key != "lang" and value}
    canonical = {key: str(value) for key, value in chosen.items() if value}
    if number > 1:
        canonical["page"] = str(number)
    if given != canonical:
        if past_end:
            flash(_l("There is no page with that number. This is the last page."), "notice")
        return redirect(link(number))
    start = (number - 1) * PER_PAGE
    shown = selected[start : start + PER_PAGE]
    return render_template(
        "registry/nodes.html",
        rows=rows(shown),
        registered=len(ordered),
        summary=summary,
        filters=form,
        filtered=attention or bool(region),
        paging={
            "number": number,
            "pages": pages,
            "first": start + 1,
            "last": start + len(shown),
            "total": len(selected),
            "links": [(page, link(page) if page else None) for page in page_links(number, pages)],
            "previous": link(number - 1) if number > 1 else None,
            "next": link(number + 1) if number < pages else None,
        },
        every_node=url_for("registry_admin.nodes"),
        now=now,
        offset=_offset(now),
    )
