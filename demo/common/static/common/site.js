// One submit is one order: a form marked data-once disables its buttons once it is sent, so a
// double click sends it once (the server's one-time token catches anything that gets through).
(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-once") || event.defaultPrevented) return;
    if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    // After this event: the clicked button's name=value must still be part of what is sent.
    setTimeout(function () {
      form.querySelectorAll("button, input[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.classList.add("busy");
      });
    }, 0);
  });
  // Back/forward cache: a page shown again must be usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.querySelectorAll("button, input[type=submit]").forEach(function (b) {
        b.disabled = false;
        b.classList.remove("busy");
      });
    });
  });
})();

// Page behaviours, here rather than inline so that they run under the Content-Security-Policy.
(function () {
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-open-dialog], [data-close-dialog], [data-fill]") : null;
    if (!el) return;
    if (el.hasAttribute("data-open-dialog")) {
      document.getElementById(el.getAttribute("data-open-dialog")).showModal();
    } else if (el.hasAttribute("data-close-dialog")) {
      el.closest("dialog").close();
    } else {
      // a preset chip: fill the form's field (data-fill = field name, data-value = value)
      el.form.elements[el.getAttribute("data-fill")].value = el.getAttribute("data-value");
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-autosubmit")) {
      event.target.form.submit();
    }
  });

  // Reward dialog: show on the button what will be paid (the custom amount, else the preset).
  var reward = document.querySelector("#reward-dialog form");
  if (reward) {
    var label = reward.querySelector("[data-testid=reward-amount]");
    var update = function () {
      var custom = reward.custom_amount.value.trim();
      var preset = reward.querySelector("input[name=amount]:checked");
      var value = custom || (preset ? preset.value : "");
      var plain = /^[0-9]+(\.[0-9]{1,2})?$/.test(value);  // what the server accepts
      label.textContent = plain && Number(value) > 0 ? "¥" + Number(value).toFixed(2) : "";
      reward.querySelector(".presets").classList.toggle("overridden", custom !== "");
    };
    reward.addEventListener("input", update);
    reward.addEventListener("change", update);
    update();
  }

  // Pay page on a phone: Alipay's mobile (wap) cashier rather than the computer one.
  var page = document.querySelector("[data-testid=channel-alipay_page]");
  var wap = document.querySelector("[data-testid=channel-alipay_wap]");
  if (page && wap && page.checked && !document.querySelector("[data-testid=open-attempt]") &&
      window.matchMedia("(max-width: 700px)").matches) {
    wap.checked = true;
  }

  // WeChat's JSAPI page: hand the payment's parameters to WeChat's browser (WeixinJSBridge);
  // on "ok" the result page confirms with WeChat Pay (the callback is only a hint).
  var jsapi = document.querySelector("[data-testid=wechat-jsapi]");
  var paramsTag = document.getElementById("wechat-js-params");
  if (jsapi && paramsTag) {
    var params = JSON.parse(paramsTag.textContent);
    var status = jsapi.querySelector("[data-testid=jsapi-status]");
    var button = jsapi.querySelector("[data-jsapi-pay]");
    var say = function (key) { status.textContent = jsapi.getAttribute("data-msg-" + key); };
    var invoke = function () {
      if (typeof window.WeixinJSBridge === "undefined" || !window.WeixinJSBridge.invoke) {
        say("nobridge");
        return;
      }
      button.disabled = true;
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
        button.disabled = false;
        var result = String((res && res.err_msg) || "").split(":").pop();
        jsapi.setAttribute("data-result", result);
        if (result === "ok") { window.location = jsapi.getAttribute("data-done-url"); }
        else { say(result === "cancel" ? "cancel" : "fail"); }
      });
    };
    button.addEventListener("click", invoke);
    if (typeof window.WeixinJSBridge === "undefined") {
      document.addEventListener("WeixinJSBridgeReady", invoke, {once: true});
      setTimeout(function () { if (typeof window.WeixinJSBridge === "undefined") say("nobridge"); }, 3000);
    } else {
      invoke();
    }
  }

  // QR page: poll the order's status; move on once Alipay has confirmed.
  var qr = document.querySelector("[data-status-url]");
  if (qr) {
    var poll = function () {
      fetch(qr.getAttribute("data-status-url"), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (d.status !== "pending") { window.location = qr.getAttribute("data-done-url"); }
          else { setTimeout(poll, 2000); }
        })
        .catch(function () { setTimeout(poll, 4000); });
    };
    setTimeout(poll, 2000);
  }
})();
