/* Zhifu: a payment link's WeChat Pay JSAPI page (zhifu/paylinks/jsapi.html).
   Hands the payment's parameters to WeChat's browser: WeixinJSBridge.invoke("getBrandWCPayRequest").
   Its answer is only a hint: on "ok" the link page asks WeChat Pay (and polls) before it says paid;
   on "cancel" or "fail" the link page says so and offers the ways to pay again. */
(function () {
  "use strict";
  var box = document.getElementById("zhifu-jsapi");
  var tag = document.getElementById("zhifu-jsapi-params");
  if (!box || !tag) { return; }
  var params = JSON.parse(tag.textContent);
  var status = document.getElementById("zhifu-jsapi-status");
  var button = document.getElementById("zhifu-jsapi-pay");
  var started = false;
  var noBridge = function () {
    if (status) { status.textContent = box.getAttribute("data-msg-nobridge"); }
  };
  var invoke = function () {
    var bridge = window.WeixinJSBridge;
    if (!bridge || typeof bridge.invoke !== "function") { noBridge(); return; }
    started = true;
    if (button) { button.disabled = true; }
    bridge.invoke("getBrandWCPayRequest", params, function (res) {
      if (button) { button.disabled = false; }
      var result = String((res && res.err_msg) || "").split(":").pop();
      box.setAttribute("data-result", result);
      var next = result === "ok" ? "ok" : (result === "cancel" ? "cancel" : "fail");
      window.location.assign(box.getAttribute("data-zhifu-" + next));
    });
  };
  if (button) { button.addEventListener("click", invoke); }
  if (typeof window.WeixinJSBridge !== "undefined") {
    invoke();
  } else {
    document.addEventListener("WeixinJSBridgeReady", function () { if (!started) { invoke(); } }, {once: true});
    setTimeout(function () { if (typeof window.WeixinJSBridge === "undefined") { noBridge(); } }, 3000);
  }
})();
