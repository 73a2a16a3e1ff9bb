/* SPDX-License-Identifier: MIT */
/*
 * The demo shop's two HTML pages, so the checkout can be clicked through in a browser: the
 * home page (sign-up and log-in forms) and a tenant's dashboard (products, orders, Order and
 * Pay buttons). Both are plain HTML with a little JavaScript that calls the JSON API; element
 * ids and data- attributes are stable so a headless browser test can find them.
 */
#include <stdlib.h>
#include <string.h>

#include "demo.h"

/* ISO C only promises string literals of 4095 bytes, so the pages are kept as lists of
 * shorter pieces. */

static const char *const style =
    "<style>\n"
    "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}\n"
    "form{display:inline-block;vertical-align:top;margin:0 2rem 1rem 0;padding:1rem;"
    "border:1px solid #ccc;border-radius:6px}\n"
    "label{display:block;margin:.4rem 0}input{display:block;margin-top:.2rem;width:16rem}\n"
    "ul{list-style:none;padding:0}li{padding:.4rem 0;border-bottom:1px solid #eee}\n"
    "button{margin-left:.5rem}#message{min-height:1.2em;color:#05a}\n"
    "header{display:flex;justify-content:space-between;align-items:center}\n"
    "</style>\n";

static const char *const home_parts[] = {
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>reprise demo shop</title>\n",
    /* style goes here */
    "</head>\n"
    "<body>\n"
    "<h1>reprise demo shop</h1>\n"
    "<p>A small multi-tenant shop kept in memory. Sign up a tenant, log in, order, pay.</p>\n"
    "<p id=\"message\" role=\"status\"></p>\n"
    "<form id=\"signup-form\">\n"
    "<h2>Sign up</h2>\n"
    "<label>Tenant <input id=\"signup-tenant\" name=\"tenant\" required maxlength=\"63\" "
    "pattern=\"[a-z0-9]([a-z0-9\\-]*[a-z0-9])?\"></label>\n"
    "<label>Email <input id=\"signup-email\" name=\"email\" type=\"email\" required "
    "autocomplete=\"email\"></label>\n"
    "<label>Password <input id=\"signup-password\" name=\"password\" type=\"password\" "
    "required autocomplete=\"new-password\"></label>\n"
    "<button id=\"signup-submit\" type=\"submit\">Sign up</button>\n"
    "</form>\n"
    "<form id=\"login-form\">\n"
    "<h2>Log in</h2>\n"
    "<label>Tenant <input id=\"login-tenant\" name=\"tenant\" required maxlength=\"63\">"
    "</label>\n"
    "<label>Email <input id=\"login-email\" name=\"email\" type=\"email\" required "
    "autocomplete=\"email\"></label>\n"
    "<label>Password <input id=\"login-password\" name=\"password\" type=\"password\" "
    "required autocomplete=\"current-password\"></label>\n"
    "<button id=\"login-submit\" type=\"submit\">Log in</button>\n"
    "</form>\n",
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  function say(text) { document.getElementById('message').textContent = text; }\n"
    "  function fields(form) {\n"
    "    return {tenant: form.elements.tenant.value.trim(),\n"
    "            email: form.elements.email.value.trim(),\n"
    "            password: form.elements.password.value};\n"
    "  }\n"
    "  async function post(url, body) {\n"
    "    var r = await fetch(url, {method: 'POST', credentials: 'same-origin',\n"
    "      headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},\n"
    "      body: JSON.stringify(body)});\n"
    "    var data = null;\n"
    "    try { data = await r.json(); } catch (e) { data = null; }\n"
    "    return {status: r.status, data: data};\n"
    "  }\n"
    "  function failed(r) {\n"
    "    return (r.data && r.data.error) ? r.data.error : 'HTTP ' + r.status;\n"
    "  }\n"
    "  var wanted = new URLSearchParams(location.search).get('tenant');\n"
    "  if (wanted) {\n"
    "    document.getElementById('signup-tenant').value = wanted;\n"
    "    document.getElementById('login-tenant').value = wanted;\n"
    "  }\n"
    "  document.getElementById('signup-form').addEventListener('submit', async function (ev) {\n"
    "    ev.preventDefault();\n"
    "    var f = fields(ev.target);\n"
    "    var r = await post('/api/signup', f);\n"
    "    if (r.status !== 201) { say('Sign-up failed: ' + failed(r)); return; }\n"
    "    document.getElementById('login-tenant').value = f.tenant;\n"
    "    document.getElementById('login-email').value = f.email;\n"
    "    say('Tenant ' + f.tenant + ' created. Log in to open its shop.');\n"
    "  });\n"
    "  document.getElementById('login-form').addEventListener('submit', async function (ev) {\n"
    "    ev.preventDefault();\n"
    "    var f = fields(ev.target);\n"
    "    var r = await post('/api/login', f);\n"
    "    if (r.status !== 200) { say('Log-in failed: ' + failed(r)); return; }\n"
    "    location.href = '/t/' + encodeURIComponent(f.tenant) + '/';\n"
    "  });\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n",
};

static const char *const dashboard_script =
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var tenant = document.body.dataset.tenant;\n"
    "  var csrf = document.querySelector('meta[name=\"csrf-token\"]').content;\n"
    "  var api = '/t/' + encodeURIComponent(tenant) + '/api';\n"
    "  function say(text) { document.getElementById('message').textContent = text; }\n"
    "  function money(p) { return Number(p).toFixed(2) + ' EUR'; }\n"
    "  function el(tag, attrs, text) {\n"
    "    var e = document.createElement(tag);\n"
    "    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });\n"
    "    if (text !== undefined) { e.textContent = text; }\n"
    "    return e;\n"
    "  }\n"
    "  async function call(method, path, body) {\n"
    "    var opts = {method: method, credentials: 'same-origin',\n"
    "                headers: {'Accept': 'application/json'}};\n"
    "    if (method === 'POST') {\n"
    "      opts.headers['X-CSRF-Token'] = csrf;\n"
    "      opts.headers['Content-Type'] = 'application/json';\n"
    "      opts.body = JSON.stringify(body || {});\n"
    "    }\n"
    "    var r = await fetch(api + path, opts);\n"
    "    var data = null;\n"
    "    try { data = await r.json(); } catch (e) { data = null; }\n"
    "    if (r.status === 401) {\n"
    "      location.href = '/?tenant=' + encodeURIComponent(tenant);\n"
    "    }\n"
    "    if (!r.ok) { throw new Error((data && data.error) || 'HTTP ' + r.status); }\n"
    "    return data;\n"
    "  }\n"
    "  function renderProducts(list) {\n"
    "    var ul = document.getElementById('products');\n"
    "    ul.replaceChildren();\n"
    "    list.forEach(function (p) {\n"
    "      var li = el('li', {'id': 'product-' + p.id, 'data-product-id': p.id},\n"
    "                  p.name + ' ' + money(p.price));\n"
    "      li.appendChild(el('button', {'type': 'button', 'id': 'order-product-' + p.id,\n"
    "                                   'data-product-id': p.id}, 'Order'));\n"
    "      ul.appendChild(li);\n"
    "    });\n"
    "  }\n"
    "  function renderOrders(list) {\n"
    "    var ul = document.getElementById('orders');\n"
    "    ul.replaceChildren();\n"
    "    if (list.length === 0) {\n"
    "      ul.appendChild(el('li', {'id': 'no-orders'}, 'No orders yet'));\n"
    "    }\n"
    "    list.forEach(function (o) {\n"
    "      var what = o.items.map(function (i) { return i.quantity + ' x ' + i.name; });\n"
    "      var li = el('li', {'id': 'order-' + o.id, 'data-order-id': o.id,\n"
    "                         'data-status': o.status},\n"
    "                  'Order #' + o.id + ': ' + what.join(', ') + ', ' + money(o.total) +\n"
    "                  ', ' + o.status);\n"
    "      if (o.status === 'pending') {\n"
    "        li.appendChild(el('button', {'type': 'button', 'id': 'pay-' + o.id,\n"
    "                                     'data-order-id': o.id}, 'Pay'));\n"
    "      }\n"
    "      ul.appendChild(li);\n"
    "    });\n"
    "  }\n";

/* The rest of the dashboard's script, split off to keep each literal under 4095 bytes. */
static const char *const dashboard_script2 =
    "  async function load() {\n"
    "    var p = await call('GET', '/products');\n"
    "    renderProducts(p.products);\n"
    "    var o = await call('GET', '/orders');\n"
    "    renderOrders(o.orders);\n"
    "    document.body.setAttribute('data-state', 'ready');\n"
    "  }\n"
    "  async function act(button, fn) {\n"
    "    document.body.setAttribute('data-state', 'busy');\n"
    "    button.disabled = true;\n"
    "    try { say(await fn()); await load(); }\n"
    "    catch (e) { say(e.message); document.body.setAttribute('data-state', 'ready'); }\n"
    "    finally { button.disabled = false; }\n"
    "  }\n"
    "  document.getElementById('products').addEventListener('click', function (ev) {\n"
    "    var b = ev.target.closest('button[data-product-id]');\n"
    "    if (!b) { return; }\n"
    "    act(b, async function () {\n"
    "      var items = [{product_id: Number(b.dataset.productId), quantity: 1}];\n"
    "      var o = await call('POST', '/orders', {items: items});\n"
    "      return 'Order #' + o.id + ' created';\n"
    "    });\n"
    "  });\n"
    "  document.getElementById('orders').addEventListener('click', function (ev) {\n"
    "    var b = ev.target.closest('button[data-order-id]');\n"
    "    if (!b) { return; }\n"
    "    act(b, async function () {\n"
    "      var o = await call('POST', '/orders/' + b.dataset.orderId + '/pay',\n"
    "                         {method: 'card'});\n"
    "      return 'Order #' + o.id + ' paid';\n"
    "    });\n"
    "  });\n"
    "  document.getElementById('logout').addEventListener('click', async function () {\n"
    "    await fetch('/api/logout', {method: 'POST', credentials: 'same-origin'});\n"
    "    location.href = '/?tenant=' + encodeURIComponent(tenant);\n"
    "  });\n"
    "  load().catch(function (e) { say(e.message); });\n"
    "})();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

static void reply_page(struct demo_reply *rep, struct demo_buf *b)
{
    if (b->failed) {
        demo_buf_cleanup(b);
        demo_reply_error(rep, 500, "page too large");
        return;
    }
    free(rep->body);
    rep->status = 200;
    rep->content_type = DEMO_CT_HTML;
    rep->body = demo_buf_take(b, &rep->body_len);
}

void demo_page_home(struct demo_reply *rep)
{
    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    demo_buf_adds(&b, home_parts[0]);
    demo_buf_adds(&b, style);
    for (size_t i = 1; i < sizeof(home_parts) / sizeof(home_parts[0]); i++) {
        demo_buf_adds(&b, home_parts[i]);
    }
    reply_page(rep, &b);
}

void demo_page_dashboard(struct demo_app *app, const struct demo_request *rq, const char *tenant,
                         struct demo_reply *rep)
{
    struct demo_session sess;
    if (demo_store_auth(app->store, rq->session, tenant, &sess)) {
        /* Not logged in to this tenant: back to the forms, with the tenant filled in. The
         * name was validated, so it needs no escaping in a URL. */
        struct demo_buf loc;
        demo_buf_init(&loc, 256);
        demo_buf_addf(&loc, "/?tenant=%s", tenant);
        rep->status = 302;
        rep->location = demo_buf_take(&loc, NULL);
        return;
    }

    struct demo_buf b;
    demo_buf_init(&b, DEMO_MAX_PAGE);
    demo_buf_adds(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, "
                      "initial-scale=1\">\n<meta name=\"csrf-token\" content=\"");
    demo_buf_add_html(&b, sess.csrf);
    demo_buf_adds(&b, "\">\n<title>");
    demo_buf_add_html(&b, tenant);
    demo_buf_adds(&b, " - reprise demo shop</title>\n");
    demo_buf_adds(&b, style);
    demo_buf_adds(&b, "</head>\n<body data-tenant=\"");
    demo_buf_add_html(&b, tenant);
    demo_buf_adds(&b, "\" data-state=\"loading\">\n<header>\n<h1>Shop <span id=\"tenant\">");
    demo_buf_add_html(&b, tenant);
    demo_buf_adds(&b, "</span></h1>\n<button id=\"logout\" type=\"button\">Log out</button>\n"
                      "</header>\n<input type=\"hidden\" name=\"csrf_token\" value=\"");
    demo_buf_add_html(&b, sess.csrf);
    demo_buf_adds(&b, "\">\n<p id=\"message\" role=\"status\"></p>\n"
                      "<section>\n<h2>Products</h2>\n<ul id=\"products\"></ul>\n</section>\n"
                      "<section>\n<h2>Orders</h2>\n<ul id=\"orders\"></ul>\n</section>\n");
    demo_buf_adds(&b, dashboard_script);
    demo_buf_adds(&b, dashboard_script2);
    reply_page(rep, &b);
}
