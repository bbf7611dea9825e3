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
    inside = {node.mem_id for node in found}
    for node in found:
        if not _below(node, inside):  # a dialog inside another goes with it
            node.decompose()
    return bool(found)


def _below(node: LexborNode, ids: set[int]) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False
