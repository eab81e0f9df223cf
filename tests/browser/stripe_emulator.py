"""localstripe on 127.0.0.1 whose Stripe.js also confirms a Payment Element, as Stripe.js does: `python this.py PORT`.

localstripe's Stripe.js stand-in only knows the older card flows (createToken, confirmCardSetup),
and its API lets a publishable key confirm setup intents but not payment intents. The pay page
(templates/billing/pay.html + src/marketplace/billing/pay.js) uses the Payment Element:
`stripe.elements({clientSecret})`, `elements.create("payment")`, then
`stripe.confirmPayment({elements, confirmParams: {return_url}})`. This adds exactly that much to
the emulator: the card typed into localstripe's fake element is attached to the payment intent
and confirmed (after checking the intent's client secret, as Stripe does), and the browser is
sent to `return_url` with `payment_intent`, `payment_intent_client_secret` and `redirect_status`,
as Stripe.js does. Everything after that - the charge, the signed `payment_intent.succeeded`
webhook to the app - is localstripe's own.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

# Appended to localstripe's script; `LOCALSTRIPE_BASE_API` is its own top-level constant.
PAYMENT_ELEMENT_JS = r"""
(function () {
  const localStripe = Stripe;
  Stripe = function (apiKey) {
    const stripe = localStripe(apiKey);
    const makeElements = stripe.elements;
    stripe.elements = function (options) {
      const elements = makeElements(options);
      elements._clientSecret = options && options.clientSecret;
      return elements;
    };
    stripe.confirmPayment = async function (params) {
      const elements = params.elements;
      const element = elements.getElement("payment");
      if (!element || !element.value || !element.value.card.number) {
        return {error: {type: "validation_error", message: "Your card number is incomplete."}};
      }
      const secret = elements._clientSecret;
      const intent = secret.match(/^(pi_\w+)_secret_/)[1];
      // No Content-Type header: a "simple" cross-origin request, as localstripe's own calls make.
      const response = await fetch(
        `${LOCALSTRIPE_BASE_API}/_browser/payment_intents/${intent}/confirm`,
        {method: "POST", body: JSON.stringify({key: apiKey, client_secret: secret, card: element.value.card})}
      );
      const body = await response.json().catch(() => ({}));
      if (response.status !== 200 || body.error) {
        return {error: body.error || {message: "The payment did not go through."}};
      }
      const url = new URL(params.confirmParams.return_url);
      url.searchParams.set("payment_intent", intent);
      url.searchParams.set("payment_intent_client_secret", secret);
      url.searchParams.set("redirect_status", body.status === "succeeded" ? "succeeded" : "processing");
      window.location.assign(url.toString());
      return new Promise(function () {});  // Stripe.js never resolves once it redirects
    };
    return stripe;
  };
})();
"""

_CONFIRM = re.compile(r"^/_browser/payment_intents/(pi_\w+)/confirm$")


def main() -> None:
    port = int(sys.argv[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import localstripe
        from localstripe import resources, server
        from localstripe.errors import UserError
    resources.store.dump_to_disk = lambda: None  # type: ignore[method-assign]
    script = (Path(localstripe.__file__).with_name("localstripe-v3.js")).read_text()

    def confirm(intent_id: str, data: dict[str, object]) -> web.Response:
        if not str(data.get("key", "")).startswith("pk_"):
            raise UserError(401, "Unauthorized")
        intent = resources.PaymentIntent._api_retrieve(intent_id)
        if data.get("client_secret") != intent.client_secret:
            raise UserError(401, "Unauthorized")
        card = data.get("card")
        if not isinstance(card, dict):
            raise UserError(400, "Bad request")
        method = resources.PaymentMethod._api_create(
            type="card", card={k: card.get(k) for k in ("number", "exp_month", "exp_year", "cvc")}
        )
        resources.PaymentIntent._api_update(intent_id, payment_method=method.id)
        confirmed = resources.PaymentIntent._api_confirm(intent_id)
        return server.json_response(confirmed._export())

    @web.middleware
    async def payment_element(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/js.stripe.com/v3/":
            return web.Response(
                text=script + PAYMENT_ELEMENT_JS, content_type="application/javascript"
            )
        match = _CONFIRM.match(request.path)
        if request.method == "POST" and match:
            try:
                data = json.loads(await request.text())
            except ValueError:
                raise UserError(400, "Bad request") from None
            return confirm(match.group(1), data)
        return await handler(request)

    # Inside localstripe's error middleware (which turns UserError into Stripe's JSON errors),
    # before its authentication middleware (which knows only secret keys for this path).
    server.app.middlewares.insert(1, payment_element)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
