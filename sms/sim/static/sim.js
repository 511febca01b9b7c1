// The simulated phone: polls the simulator and posts texts to the
// provider's webhook, as a carrier would.
const $ = (id) => document.getElementById(id);
let state = { numbers: [], texts: [], provider: "", secret: "" };

async function refresh() {
  const phone = $("me").value.trim();
  const res = await fetch("/sim/api/state?phone=" + encodeURIComponent(phone));
  if (!res.ok) return;
  state = await res.json();
  const sel = $("to");
  if (sel.options.length !== (state.numbers || []).length) {
    sel.replaceChildren(...(state.numbers || []).map((n) => new Option(n, n)));
  }
  const thread = $("thread");
  const items = (state.texts || []).filter((t) => t.from === sel.value || t.to === sel.value).map((t) => {
    const li = document.createElement("li");
    if (t.inbound) li.className = "mine";
    li.textContent = t.body || "(picture)";
    const meta = document.createElement("small");
    meta.textContent = new Date(t.sent).toLocaleTimeString() + (t.media && t.media.length ? " · " + t.media.length + " picture(s)" : "");
    li.append(meta);
    return li;
  });
  const atBottom = thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 8;
  thread.replaceChildren(...items);
  if (atBottom) thread.scrollTop = thread.scrollHeight;
}

$("compose").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = $("body").value;
  if (!body.trim() || !$("to").value) return;
  const form = new URLSearchParams({
    secret: state.secret, id: "sim-in-" + crypto.randomUUID(),
    from: $("me").value.trim(), to: $("to").value, body,
  });
  const res = await fetch("/webhooks/sms/" + encodeURIComponent(state.provider), { method: "POST", body: form });
  if (res.ok) $("body").value = "";
  else alert("The texting number refused the message: " + (await res.text()));
  refresh();
});
$("me").addEventListener("change", refresh);
$("to").addEventListener("change", refresh);
refresh();
setInterval(refresh, 1000);
