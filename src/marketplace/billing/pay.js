// Mounts Stripe's Payment Element and confirms the payment in the browser. The invoice is marked
// paid by the server only when Stripe's signed webhook (or reconciliation) says so.
(function () {
  "use strict";
  var mount = document.getElementById("payment-element");
  var form = document.getElementById("payment-form");
  if (!mount || !form || typeof Stripe === "undefined") { return; }
  var message = document.getElementById("payment-message");
  var stripe = Stripe(mount.dataset.publishableKey);
  var elements = stripe.elements({ clientSecret: mount.dataset.clientSecret });
  elements.create("payment").mount(mount);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    form.querySelector("button").disabled = true;
    stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: mount.dataset.returnUrl }
    }).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message || "The payment did not go through.";
        form.querySelector("button").disabled = false;
      }
    });
  });
})();
