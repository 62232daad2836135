"""Realistic demo testers and feedback to try the console with (`flask nous seed-demo`, nous/demo.py).

Addresses use the reserved example domains (RFC 2606), so no demo invite can reach a real person.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import cache, db
from nous.feedback.models import Feedback, FeedbackTag
from nous.feedback.service import CHARTS_KEY, invalidate
from nous.testers.models import BetaUser

FIRST = ["Ada", "Bruno", "Chen", "Dara", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi", "Lena", "Mateo",
         "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Ximena", "Yusuf", "Zoe"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski",
        "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Sato", "Tanaka", "Umarov", "Varga"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
NOTES = ["Power user, mostly on iOS.", "Met at the Berlin meetup.", "Uses NOUS for team calendars.",
         "Reported the sync bug in the first week.", "Prefers voice input.",
         "Travels a lot; good for offline tests.", ""]
FEATURES = ["calendar", "email-summary", "voice", "reminders", "search", "onboarding", "notes", "travel"]
TAGS = ["sync", "ios", "android", "performance", "ux", "crash", "regression", "accessibility", "billing", "offline"]
AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
]
VIEWPORTS = ["1440x900", "1920x1080", "390x844", "412x915", "1280x720", "1536x864"]
MESSAGES: dict[str, list[str]] = {
    "bug": [
        "The {feature} screen freezes for a few seconds when I switch between accounts.",
        "{Feature} shows yesterday's items again after I reopen the app.",
        "Tapping 'done' in {feature} does nothing on the first try, it works the second time.",
        "Since the last update {feature} crashes when I paste a long text.",
        "Times in {feature} are an hour off after the daylight saving change.",
        "The {feature} sync spinner never stops on my work laptop, even though everything arrived.",
        "Dark mode: the text in {feature} is barely readable (grey on grey).",
    ],
    "idea": [
        "It would be great if {feature} could suggest a time based on my other meetings.",
        "Could {feature} have a keyboard shortcut? I use it dozens of times a day.",
        "Please let me share something from {feature} with people who don't use NOUS.",
        "A weekly digest of {feature} by email would save me a lot of clicks.",
        "Let me pin the things I use most at the top of {feature}.",
    ],
    "praise": [
        "{Feature} saved my morning, it found the thread I was looking for instantly.",
        "Really like how fast {feature} has become in the last release.",
        "The new {feature} layout is so much calmer. Thank you!",
        "{Feature} understood my very messy voice note perfectly.",
    ],
    "other": [
        "Is there a way to export what I have in {feature}?",
        "Not sure if this is a bug, but {feature} asks for permission every time.",
        "How does {feature} decide what to show first?",
        "Love the idea, but I'm not sure I understand {feature} yet.",
    ],
}
SPAM = ["Best crypto signals!!! visit our site now", "Cheap followers, fast delivery, DM me", "=HYPERLINK(\"http://spam.example\")"]


@dataclass
class SeedResult:
    testers_added: int
    testers_skipped: int
    feedback_added: int

    def as_dict(self) -> dict[str, int]:
        return {"testers_added": self.testers_added, "testers_skipped": self.testers_skipped,
                "feedback_added": self.feedback_added}


def _pick_rating(rng: random.Random, category: str) -> int:
    weights = {"bug": [30, 35, 25, 8, 2], "idea": [3, 10, 35, 37, 15], "praise": [0, 1, 6, 30, 63],
               "other": [8, 15, 35, 27, 15]}[category]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _status(rng: random.Random, age_days: float) -> str:
    if age_days < 3:
        return rng.choices(["new", "triaged"], weights=[85, 15])[0]
    if age_days < 14:
        return rng.choices(["new", "triaged", "planned", "resolved"], weights=[35, 35, 20, 10])[0]
    return rng.choices(["new", "triaged", "planned", "resolved"], weights=[8, 30, 27, 35])[0]


def _testers(rng: random.Random, now: datetime, count: int, days: int) -> tuple[list[BetaUser], int]:
    """Up to `count` new demo testers (not added yet), and how many of their addresses were already there."""
    existing = {e.lower() for e in db.session.scalars(select(BetaUser.email))}
    users: list[BetaUser] = []
    skipped = 0
    names = [(f, last) for f in FIRST for last in LAST]
    rng.shuffle(names)
    for i, (first, last) in enumerate(names[:count]):
        email = f"{first}.{last}@{DOMAINS[i % len(DOMAINS)]}".lower()
        if email in existing:
            skipped += 1
            continue
        created = now - timedelta(days=rng.uniform(days * 0.6, days * 1.2))
        state = rng.choices(["joined", "invited", "new"], weights=[60, 25, 15])[0]
        invited = created + timedelta(hours=rng.uniform(1, 48)) if state != "new" else None
        joined = invited + timedelta(hours=rng.uniform(1, 96)) if state == "joined" and invited else None
        role = "OWNER" if i == 0 else "ADMIN" if i in (1, 2) else "TESTER"
        users.append(BetaUser(
            id=uuid.uuid4(), email=email, role=role, is_active=rng.random() > 0.05, source="demo", created_at=created,
            invited_at=invited, invite_sent_count=(1 + (rng.random() < 0.2)) if invited else 0, joined_at=joined,
            last_seen_at=(joined + timedelta(days=rng.uniform(0, max(0.1, (now - joined).days)))) if joined else None,
            notes=rng.choice(NOTES), flag_set={},
        ))
    return users, skipped


def _feedback(rng: random.Random, now: datetime, days: int, pool: list[BetaUser]) -> Feedback:
    """One demo feedback: more of them lately (the beta is growing) and fewer at weekends."""
    age = days * (rng.random() ** 1.6)
    created = now - timedelta(days=age, minutes=rng.uniform(0, 600))
    if created.weekday() >= 5 and rng.random() < 0.4:
        created -= timedelta(days=2)
    age = (now - created).total_seconds() / 86400
    spam = rng.random() < 0.02
    category = "other" if spam else rng.choices(["bug", "idea", "praise", "other"], weights=[38, 27, 20, 15])[0]
    feature = rng.choice(FEATURES) if rng.random() > 0.1 else None
    name = feature or "the app"
    message = rng.choice(SPAM) if spam else rng.choice(MESSAGES[category]).format(
        feature=name, Feature=name[:1].upper() + name[1:])
    user = rng.choice(pool) if pool and rng.random() < 0.7 and not spam else None
    return Feedback(
        created_at=created, updated_at=created, rating=1 if spam else _pick_rating(rng, category), message=message,
        feature=feature, category=category, status="spam" if spam else _status(rng, age),
        email=user.email if user else (None if rng.random() < 0.6 else f"guest{rng.randint(1, 999)}@example.net"),
        tester_id=user.id if user else None, page_url=f"https://app.nous.example/{feature or 'home'}",
        user_agent=rng.choice(AGENTS), viewport=rng.choice(VIEWPORTS),
        app_version=f"0.{rng.choice([8, 9, 9, 10])}.{rng.randint(0, 6)}",
    )


def _seen_when_they_wrote(users: list[BetaUser], rows: list[Feedback]) -> None:
    """A tester's latest feedback is activity too: their last-seen time is at least that."""
    latest: dict[uuid.UUID, datetime] = {}
    for row in rows:
        if row.tester_id and row.created_at > latest.get(row.tester_id, row.created_at - timedelta(seconds=1)):
            latest[row.tester_id] = row.created_at
    for user in users:
        if user.id in latest and (user.last_seen_at is None or user.last_seen_at < latest[user.id]):
            user.last_seen_at = latest[user.id]


def _tag(rng: random.Random, rows: list[Feedback]) -> None:
    for row in rows:
        if row.status != "spam" and rng.random() < 0.35:
            for tag in rng.sample(TAGS, rng.choice([1, 1, 2, 3])):
                db.session.add(FeedbackTag(feedback_id=row.id, tag=tag, created_at=row.created_at))


def seed(*, actor: str, testers: int = 40, feedback: int = 600, days: int = 60,
         seed_value: int | None = None) -> SeedResult:
    """Add demo testers and feedback (the same ones for the same `seed_value`), audited, in one transaction."""
    rng = random.Random(seed_value)
    now = utcnow()
    users, skipped = _testers(rng, now, testers, days)
    db.session.add_all(users)
    db.session.flush()
    pool = [u for u in users if u.joined_at] or list(db.session.scalars(select(BetaUser).limit(200)))
    rows = [_feedback(rng, now, days, pool) for _ in range(feedback)]
    db.session.add_all(rows)
    db.session.flush()
    _seen_when_they_wrote(users, rows)
    _tag(rng, rows)
    result = SeedResult(len(users), skipped, len(rows))
    audit.record(actor, "demo.seed", "", None, result.as_dict(), commit=False)
    db.session.commit()
    invalidate()
    cache.delete(CHARTS_KEY.format(90))  # the console's default span
    return result


def counts() -> dict[str, Any]:
    return {"testers": db.session.scalar(select(func.count()).select_from(BetaUser)),
            "feedback": db.session.scalar(select(func.count()).select_from(Feedback))}
