"""Checks of our own, loaded by schemathesis.toml.

A request the document calls valid may still be refused for what it means: a language,
channel, promo code or user the commerce does not have, a quantity rule of the product,
stock that ran out. The document states shapes, not the commerce's configuration, so a
422 of that kind is expected (schemathesis.toml lets 422 through `positive_data_acceptance`).
A 422 for a shape, though, means the document failed to state a bound the server
enforces: this check fails the run on each one.
"""

import schemathesis
from hypothesis.internal import lambda_sources as _lambda_sources

# Hypothesis names a filter's lambda by parsing the source file it sits in, only to print
# a strategy. On CPython 3.11.7, parsing schemathesis's largest module deep in the stack
# fails with "AST constructor recursion depth mismatch" (a bug of that CPython), which
# schemathesis reports as a runtime error of whatever operation it was generating for. A
# name in a repr is not worth a failed run: the lambda keeps a plain one.
_describe_lambda = _lambda_sources.lambda_description


def _lambda_description(function):
    try:
        return _describe_lambda(function)
    except (SystemError, RecursionError):
        return "lambda: ..."


_lambda_sources.lambda_description = _lambda_description

# Codes that refuse a value's shape: the document states each bound behind them, so a
# request generated as valid must never receive one.
SHAPE_CODES = {
    "invalid_country",
    "country_required",
    "invalid_address",
    "invalid_reference",
    "invalid_id",
    "invalid_amount",
    "invalid_date",
    "invalid_limit",
}

# `invalid_quantity` refuses a shape when it says one of these; the others it says
# depend on the stock (on-hand would pass the largest quantity) and are answers of state.
QUANTITY_SHAPE_REASONS = (
    "it must be at least 1",
    "it exceeds the largest quantity",
    "an adjustment must change on-hand",
    "an adjustment moves at most",
)


@schemathesis.check
def valid_requests_are_refused_only_for_meaning(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        problem = response.json()
    except Exception:
        raise AssertionError("a 422 answer is not problem+json")
    code = problem.get("code")
    detail = problem.get("detail", "")
    shape = code in SHAPE_CODES or (
        code == "invalid_quantity" and any(reason in detail for reason in QUANTITY_SHAPE_REASONS)
    )
    if shape:
        raise AssertionError(
            f"a request the document calls valid was refused for its shape: {code}: {detail}"
        )
    return None
