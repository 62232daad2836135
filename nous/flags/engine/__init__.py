"""Feature-flag evaluation engine: pure Python, no Flask, database or Redis.

Semantics follow Unleash's public client specification (github.com/Unleash/client-specification):
flags in the Unleash client-API feature format, activation strategies, constraints, segments,
weighted sticky variants and one level of flag dependencies. Why our own code: Unleash's Python SDK
ties evaluation to its HTTP poller, disk cache and scheduler; we need a pure evaluator over our own
flag store that answers in microseconds, so this package ports the specification instead.

`Engine.load()` compiles the flags once into small closures (values into frozensets, CIDRs, regexes,
semantic versions and dates parsed once), so that `Engine.is_enabled()` only walks those closures.
Nothing here raises on bad input, logs or prints: a flag, strategy or constraint that cannot be
understood evaluates to off. The same compile pass states each rule once and writes down, in words,
where a definition breaks one: `validate_feature()` returns those words, to refuse bad imports and
admin edits before they reach the engine.

The modules, in the order a flag passes through them:

* `context`     reading a context (top level, then `properties`) and parsing values: numbers, dates,
                semantic versions, IP addresses
* `problems`    where a definition breaks a rule, with its path (`strategies[0].constraints[1].value`)
* `constraints` one constraint → a check, per operator family, with its value rules
* `strategies`  activation strategies, their parameters, segments; `codegen` writes a strategy's
                constraints and rule out as one generated function
* `variants`    weighted sticky variants, their payloads and overrides
* `features`    a whole flag: strategies, variants, dependencies, and how a flag resolves
* `core`        `Engine`: load, is_enabled, get_variant, evaluate_all(_json)
* `explain`     why a flag is on or off for a context (the admin preview)
* `hashing`     the frozen bucket algorithm

Same answer as the official SDKs (tests/flags/test_sdk_parity.py runs the Python SDK over edge
contexts): context values are read as the SDKs' engine reads them (addresses, numbers, versions and
dates written exactly; "::ffff:10.0.0.1" is IPv6; version numbers past 2^64 - 1 are refused), IN and
NOT_IN ignore `caseInsensitive`, and definitions the SDKs would read differently are refused by
validation (numbers and dates in the SDKs' forms, exact list values). Where the Python and Node SDKs
disagree, the client specification decides; where it is silent, the choice is written beside the code:
remoteAddress follows IN_CIDR's rules (strategies), and an id given as "" is no id (as in Node; the
Python SDK hashes "").

Frozen algorithm (ALGORITHM_VERSION = 1). Changing any of this moves testers between buckets, so it
must never change; a different algorithm needs a new version number and a migration plan:

* strategy bucket: ``murmur3_32(f"{groupId}:{value}", seed=0)`` (unsigned, UTF-8) ``% 100 + 1``; on when
  ``percentage > 0`` and ``bucket <= percentage``. ``groupId`` defaults to the flag name.
* variant bucket: ``murmur3_32(f"{groupId}:{value}", seed=86028157) % total_weight + 1``, the first
  variant whose running weight sum reaches it wins. ``groupId`` is the flag name for flag variants and
  the strategy's ``groupId`` (else the flag name) for strategy variants.
* stickiness ``default``: userId, else sessionId (variants also try remoteAddress), else random.
"""

from __future__ import annotations

from nous.flags.engine.constraints import CASE_SENSITIVE, OPERATORS
from nous.flags.engine.core import Engine
from nous.flags.engine.features import FLAG_TYPES, notices, validate_feature
from nous.flags.engine.hashing import ALGORITHM_VERSION, STRATEGY_SEED, VARIANT_SEED, bucket
from nous.flags.engine.strategies import STRATEGIES
from nous.flags.engine.variants import PAYLOAD_TYPES

__all__ = [
    "ALGORITHM_VERSION",
    "CASE_SENSITIVE",
    "FLAG_TYPES",
    "OPERATORS",
    "PAYLOAD_TYPES",
    "STRATEGIES",
    "STRATEGY_SEED",
    "VARIANT_SEED",
    "Engine",
    "bucket",
    "notices",
    "validate_feature",
]
