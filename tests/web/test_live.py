"""Live updates in real browsers: a lead another agent holds leaves a second agent's list at
once, and its total, even when a count asked before arrives after; a hold about to end warns
on screen, counts down to zero and leaves the cart; the session refreshes its token, and a
session that cannot be refreshed returns to sign-in with a message. These run on both
databases: on PostgreSQL the notices go through Redis."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Route, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.kit.clock import FrozenClock, SystemClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Hold, Lead
from aiqleads.models.enums import Tier
from tests.factories import make_account
from tests.web.conftest import screenshot_path
from tests.web.market import build_market
from tests.web.pages import list_settled, signed_in


@dataclass(frozen=True)
class TwoAgents:
    """A pro agent and a basic one (their e-mails), and the available leads of ZIP 98103."""

    first: str
    second: str
    in_zip: list[dict[str, Any]]


@pytest.fixture
async def two_agents(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> TwoAgents:
    market = await build_market(sessions, settings, cipher, now=clock.now(), per_zip=6)
    first = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    second = await make_account(sessions, now=clock.now(), tier=Tier.BASIC)
    return TwoAgents(first.email, second.email, market.available_in("98103"))


async def test_a_lead_another_agent_holds_leaves_the_second_agents_list(
    browser: Browser, web_server: str, two_agents: TwoAgents
) -> None:
    # Given two agents looking at the same ZIP's leads
    first, second, in_zip = two_agents.first, two_agents.second, two_agents.in_zip
    pages = []
    for account in (first, second):
        context, page = await signed_in(browser, web_server, account)
        await page.fill("#f-zip", "98103")
        await page.click("#filters button[type=submit]")
        await expect(page.locator("#leads tbody tr")).to_have_count(len(in_zip))
        await expect(page.locator("#live-state")).to_have_text("Live")
        pages.append((context, page))
    (ctx_a, page_a), (ctx_b, page_b) = pages
    target = str(in_zip[0]["public_id"])
    row_b = page_b.locator(f'#leads tr[data-lead="{target}"]')
    await expect(row_b).to_have_count(1)

    # When the first agent holds it
    await page_a.locator(f'#leads tr[data-lead="{target}"] input[type=checkbox]').check()
    await page_a.click("#hold-selected")
    await expect(page_a.locator("#cart-count")).to_have_text("1")

    # Then it disappears from the second agent's list, which says why
    await expect(row_b).to_have_count(0)
    await expect(page_b.locator("#leads tbody tr")).to_have_count(len(in_zip) - 1)
    await expect(page_b.locator("#toasts")).to_contain_text("taken by another agent")
    await expect(page_b.locator("#result-count")).to_contain_text(f"of {len(in_zip) - 1} leads")
    # And the first agent is not told its own hold was taken by someone else
    await expect(page_a.locator("#toasts")).not_to_contain_text("another agent")
    await page_b.screenshot(path=screenshot_path("lead-taken.png"))
    await ctx_a.close()
    await ctx_b.close()


async def test_a_count_asked_before_a_lead_was_taken_does_not_put_it_back(
    browser: Browser, web_server: str, two_agents: TwoAgents
) -> None:
    # Given two agents on one ZIP, the second one's count (the heatmap's total) asked before
    # the first one holds a lead and answered only after the "taken" notice has arrived
    first, second, in_zip = two_agents.first, two_agents.second, two_agents.in_zip
    target = str(in_zip[0]["public_id"])
    ctx_a, page_a = await signed_in(browser, web_server, first)
    await page_a.fill("#f-zip", "98103")
    await page_a.click("#filters button[type=submit]")
    await expect(page_a.locator(f'#leads tr[data-lead="{target}"]')).to_have_count(1)

    ctx_b, page_b = await signed_in(browser, web_server, second)
    await expect(page_b.locator("#live-state")).to_have_text("Live")
    release = asyncio.Event()
    held: list[Route] = []

    async def hold_the_first_count(route: Route) -> None:
        if held or "98103" not in route.request.url:
            await route.continue_()
            return
        held.append(route)
        answer = await route.fetch()  # computed now, before the hold: 4 leads
        await release.wait()
        await route.fulfill(response=answer)

    await page_b.route("**/api/v1/geo/heatmap?*", hold_the_first_count)
    await page_b.fill("#f-zip", "98103")
    await page_b.click("#filters button[type=submit]")
    await expect(page_b.locator("#leads tbody tr")).to_have_count(len(in_zip))
    assert held, "the second agent's count was not asked"

    # When the first agent holds a lead, and the second agent's stale count answers after
    await page_a.locator(f'#leads tr[data-lead="{target}"] input[type=checkbox]').check()
    await page_a.click("#hold-selected")
    await expect(page_b.locator("#toasts")).to_contain_text("taken by another agent")
    release.set()

    # Then the second agent's total leaves the taken lead out, and the map was counted again
    await expect(page_b.locator("#leads tbody tr")).to_have_count(len(in_zip) - 1)
    await expect(page_b.locator("#result-count")).to_contain_text(f"of {len(in_zip) - 1} leads")
    await ctx_a.close()
    await ctx_b.close()


async def test_a_hold_expiring_warns_counts_down_and_leaves_the_cart(
    browser: Browser,
    web_server: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a basic agent (15-minute holds) holding one lead, on the cart page
    market = await build_market(sessions, settings, cipher, now=clock.now(), per_zip=3)
    agent = await make_account(sessions, now=clock.now(), tier=Tier.BASIC)
    context, page = await signed_in(browser, web_server, agent.email)
    await list_settled(page)
    lead = market.available_in("98101")[0]
    await page.fill("#f-zip", "98101")
    await page.click("#filters button[type=submit]")
    await page.locator(f'#leads tr[data-lead="{lead["public_id"]}"] input[type=checkbox]').check()
    await page.click("#hold-selected")
    await expect(page.locator("#cart-count")).to_have_text("1")
    await page.click("#nav a[data-view=cart]")
    countdown = page.locator("#cart tbody tr td.countdown")
    # Counting down from under 15:00 (never 15:00 on screen); how far it got depends on how
    # long the page took, which a loaded machine stretches
    await expect(countdown).to_have_text(re.compile(r"^14:[0-5]\d left$"), timeout=10_000)

    # When its time is nearly up (the hold is shortened to 4 seconds in the database: the
    # server's sweeper runs every second and warns under 5 minutes left)
    until = SystemClock().now() + timedelta(seconds=4)
    async with transaction(sessions) as session:
        await session.execute(
            update(Lead).where(Lead.public_id == lead["public_id"]).values(held_until=until)
        )
        await session.execute(update(Hold).where(Hold.ended_at.is_(None)).values(held_until=until))
    await page.evaluate("() => window.location.hash = '#/map'")
    await page.click("#nav a[data-view=cart]")

    # Then the page warns that it is ending, counts down to zero, and the hold leaves the cart
    await expect(page.locator("#toasts")).to_contain_text("ends in less than a minute")
    await expect(page.locator("#cart tbody tr.soon, #cart tbody tr.ended")).to_have_count(1)
    await page.screenshot(path=screenshot_path("hold-expiring.png"))
    await expect(page.locator("#toasts")).to_contain_text(
        "has ended: its time ran out", timeout=15_000
    )
    await expect(page.locator("#cart-empty")).to_be_visible()
    await expect(page.locator("#cart-count")).to_have_text("0")
    await context.close()


async def test_the_session_refreshes_its_token_and_an_expired_one_returns_to_sign_in(
    browser: Browser,
    web_server: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a signed-in agent
    await build_market(sessions, settings, cipher, now=clock.now(), per_zip=2)
    agent = await make_account(sessions, now=clock.now(), tier=Tier.PRO)
    context, page = await signed_in(browser, web_server, agent.email)
    await list_settled(page)

    # When its access token stops being accepted, the page refreshes it and carries on
    await page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem("aiq_session"));
            s.access = "not-a-token";
            sessionStorage.setItem("aiq_session", JSON.stringify(s));
        }"""
    )
    await page.reload()
    await list_settled(page)
    await expect(page.locator("#view-map")).to_be_visible()
    await expect(page.locator("#live-state")).to_have_text("Live")

    # When the refresh token is no longer valid either, the page returns to sign-in and says why
    await page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem("aiq_session"));
            s.access = "not-a-token";
            s.refresh = "not-a-refresh-token";
            sessionStorage.setItem("aiq_session", JSON.stringify(s));
        }"""
    )
    await page.reload()
    await expect(page.locator("#view-signin")).to_be_visible()
    await expect(page.locator("#signin-message")).to_have_text(
        "Your session has expired. Please sign in again."
    )
    await context.close()
