"""Cookie and privacy consent dialogs, removed before the main content is looked for.

A consent manager writes its dialog into the page as ordinary HTML: a banner, and often a
"privacy centre" of a thousand words about purposes and partners, in paragraphs. To a
main-text extractor that is the longest run of prose on a short page, and trafilatura takes
it for the content (WCXB dev: a recipe listing whose content came out as OneTrust's "Your
Privacy" text). The dialogs are found by the containers their vendors give them (OneTrust,
Cookiebot, Didomi, Quantcast, TrustArc, Usercentrics, Sourcepoint, CookieYes, Complianz,
Osano, iubenda, Borlabs, GDPR Cookie Compliance, HubSpot, Google's Funding Choices, Cookie
Notice, cookieconsent) and by the ids and classes sites give their own banners. They are
never the content: no page's main text sits inside one.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

CONSENT = ", ".join((
    "#onetrust-consent-sdk", "#onetrust-banner-sdk", "#onetrust-pc-sdk",
    "#CybotCookiebotDialog", "#didomi-host", "#qc-cmp2-container", "#truste-consent-track",
    "#consent_blackbar", "#usercentrics-root", "[id^=sp_message_container_]",
    ".cky-consent-container", ".cky-modal", "#cookie-law-info-bar", "#cliSettingsPopup",
    "#cmplz-cookiebanner-container", ".osano-cm-window", "#iubenda-cs-banner",
    "#BorlabsCookieBox", "#moove_gdpr_cookie_info_bar", "#moove_gdpr_cookie_modal",
    "#hs-eu-cookie-confirmation", ".fc-consent-root", "#cookie-notice", ".cc-window",
    "#cookiescript_injected", "#cookie-banner", "#cookie-consent", ".cookie-banner",
    ".cookie-consent"))


def drop_consent(tree: LexborHTMLParser) -> bool:
    """Remove the page's consent dialogs from `tree`; whether there were any."""
    found = tree.css(CONSENT)
    for node in _outermost(found):  # a dialog inside another goes with it
        node.decompose()
    return bool(found)


def _outermost(found: list[LexborNode]) -> list[LexborNode]:
    """The nodes of `found` with no ancestor in it. Linear in the page: each element's answer
    (is it, or an element above it, in `found`) is worked out once, so thousands of nested
    matches on a hostile page cost no more than the page."""
    matched = {node.mem_id for node in found}
    under: dict[int, bool] = {}  # element -> whether it or an ancestor is in found
    outermost = []
    for node in found:
        path = []
        parent = node.parent
        inside = False
        while parent is not None:
            key = parent.mem_id
            if key in under or key in matched:
                inside = under.get(key, True)
                break
            path.append(key)
            parent = parent.parent
        for key in path:
            under[key] = inside
        under[node.mem_id] = True
        if not inside:
            outermost.append(node)
    return outermost
