// The order form's offline queue (components/order_queue.py says why it lives in the browser). While the page is
// offline, "Review order", Enter in the amount and the review's buttons are stopped before NiceGUI sees them (it
// would send the click once the socket is back, and the order would be placed at whatever the price is then): the
// order is queued here instead, in localStorage so that a reload keeps it. Once the page is connected, each queued
// order goes back to the server with the key it was queued under, and the server says what became of it.
const STORE = "sherwood.orderQueue.";
// The form's text fields and their inputs' test ids: what is typed offline only the page knows, so it is read here.
const TEXTS = {
  amount: "amount",
  limit: "limit-price",
  stop: "stop-price",
  trail: "trail",
  take_profit: "take-profit",
  stop_loss: "stop-loss",
};
const RESEND_MS = 15000; // no answer this long after sending: send again (the key makes that safe)
const STATES = {
  queued: "Queued",
  sending: "Sending…",
  confirm: "Price moved",
  refused: "Not sent",
};

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // crypto.randomUUID needs https
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function socketUp() {
  return !!(window.did_handshake && window.socket && window.socket.connected);
}

export default {
  template: `
    <div v-show="offline || said || entries.length" class="w-full flex flex-col gap-2" data-testid="order-queue">
      <div v-if="offline" class="text-sm text-warning flex items-start no-wrap gap-2">
        <q-icon name="cloud_off" class="text-base" />
        <span data-testid="offline-note">You're offline: orders you submit are queued and sent when you're back.</span>
      </div>
      <div v-if="said" class="text-sm" data-testid="queue-said">{{ said }}</div>
      <div v-for="entry in entries" :key="entry.key" class="w-full flex flex-col gap-1 rounded-borders q-pa-sm"
           style="border: 1px solid rgba(127, 127, 127, 0.3)" data-testid="queued-order" :data-state="entry.state">
        <div class="flex items-center no-wrap gap-2">
          <span class="flex-1 font-medium">{{ entry.summary }}</span>
          <span class="text-xs text-gray-500">{{ states[entry.state] }}</span>
        </div>
        <div v-if="entry.message" class="text-sm" data-testid="queued-message">{{ entry.message }}</div>
        <div class="flex justify-end gap-2">
          <q-btn v-if="entry.state === 'confirm'" unelevated dense no-caps color="primary" label="Send anyway"
                 data-testid="queued-confirm" @click="confirm(entry)" />
          <q-btn v-if="entry.state !== 'sending'" flat dense no-caps data-testid="queued-cancel"
                 :label="entry.state === 'queued' ? 'Cancel' : 'Discard'" @click="drop(entry)" />
        </div>
      </div>
    </div>`,
  props: {
    symbol: String,
    account: String,
    draft: Object, // the form as the server last checked it: {fields, key, error, verb, kind}
    price: String, // the last price, to tell later how far it moved since an order was queued
  },
  data() {
    return { entries: [], offline: false, said: "", states: STATES };
  },
  mounted() {
    this.store = STORE + this.account + "." + this.symbol;
    this.sentAt = {}; // key -> when it was last sent from this page
    this.used = new Set(); // the form keys this page has queued under
    try {
      this.entries = JSON.parse(localStorage.getItem(this.store) || "[]");
    } catch (e) {
      this.entries = [];
    }
    this.card = this.$el.closest('[data-testid="order-form"]');
    this.stop = (event) => this.intercept(event);
    this.look = () => this.watch();
    document.addEventListener("click", this.stop, true); // capturing: before the buttons' own handlers
    document.addEventListener("keydown", this.stop, true);
    window.addEventListener("online", this.look);
    window.addEventListener("offline", this.look);
    this.timer = setInterval(this.look, 500); // the socket's state has no event of its own to listen to here
    this.watch();
  },
  unmounted() {
    document.removeEventListener("click", this.stop, true);
    document.removeEventListener("keydown", this.stop, true);
    window.removeEventListener("online", this.look);
    window.removeEventListener("offline", this.look);
    clearInterval(this.timer);
  },
  methods: {
    watch() {
      // Offline: the browser says so, or the socket that was up is down. Before the first connect a click waits
      // for the socket (NiceGUI holds it), which is no replay.
      this.offline = !navigator.onLine || (!!window.did_handshake && !socketUp());
      if (!this.offline && socketUp()) this.flush();
    },
    intercept(event) {
      if (!this.offline || !event.target.closest) return;
      const target = event.target;
      let review = null; // the open review's button that was clicked: the review is closed here
      if (event.type === "click") {
        review = target.closest('[data-testid="submit-order"], [data-testid="edit-order"]');
        const opening = target.closest('[data-testid="review"]');
        if (!review && !(opening && this.card.contains(opening))) return;
      } else {
        const amount = event.key === "Enter" && target.closest('[data-testid="amount"]');
        if (!amount || !this.card.contains(amount)) return;
      }
      event.stopImmediatePropagation();
      event.preventDefault();
      if (review?.dataset.testid !== "edit-order") this.enqueue();
      if (review) this.closeReview(review);
    },
    enqueue() {
      const draft = this.draft;
      if (!draft) return;
      const fields = { ...draft.fields };
      for (const [name, testid] of Object.entries(TEXTS)) {
        const input = this.card.querySelector(`input[data-testid="${testid}"]`); // Quasar puts it on the input
        if (input) fields[name] = input.value;
      }
      const edited = Object.keys(TEXTS).some((name) => fields[name] !== draft.fields[name]);
      if (!edited && draft.error) {
        this.said = draft.error; // what the server found wrong with the form as it stands
        return;
      }
      const same = JSON.stringify(fields);
      if (this.entries.some((entry) => entry.state === "queued" && JSON.stringify(entry.fields) === same)) {
        this.said = "This order is queued already.";
        return;
      }
      // The form's key, so that an order whose submit may have gone out before the connection dropped cannot be
      // placed twice; a further order queued from the same form gets a key of its own.
      const key = this.used.has(draft.key) ? newKey() : draft.key;
      this.used.add(draft.key);
      const amount = fields.amount.trim();
      const size = fields.unit === "dollars" ? `$${amount} of` : `${amount} ${amount === "1" ? "share" : "shares"} of`;
      const summary = `${draft.verb} ${size} ${this.symbol} · ${draft.kind}`;
      const entry = { key, fields, price: this.price, summary, state: "queued", message: "", confirmed: false };
      this.entries.push(entry);
      this.save();
      this.said = `Queued: ${summary}. It will be sent when you're back online.`;
    },
    closeReview(button) {
      // The server cannot close its review now: close it here (through NiceGUI's own globals, mounted_app and
      // getElement), and tell the server, which hears it once back: the one replay that is wanted.
      const card = button.closest('[data-testid="review-dialog"]');
      const cardId = card && Number(card.id.slice(1));
      const found = Object.entries(mounted_app.elements).find(([, element]) =>
        (element.slots?.default?.ids || []).includes(cardId),
      );
      if (!found) return;
      getElement(found[0])?.$emit("update:modelValue", false);
      found[1].props["model-value"] = false;
    },
    flush() {
      const now = Date.now();
      const due = this.entries.filter(
        (entry) => ["queued", "sending"].includes(entry.state) && !(this.sentAt[entry.key] > now - RESEND_MS),
      );
      for (const entry of due) {
        this.sentAt[entry.key] = now;
        entry.state = "sending";
        this.$emit("send", { key: entry.key, fields: entry.fields, price: entry.price, confirmed: entry.confirmed });
      }
      if (due.length) this.save();
    },
    settled(key, state, message) {
      const entry = this.entries.find((e) => e.key === key);
      if (!entry) return;
      if (state === "sent") {
        this.entries = this.entries.filter((e) => e !== entry);
        this.said = `Sent: ${entry.summary}. ${message}`;
      } else {
        entry.state = state === "retry" ? "queued" : state;
        entry.message = message;
        if (state === "retry") this.sentAt[key] = Date.now(); // again after RESEND_MS
        else delete this.sentAt[key]; // answered: sent again only when the user says so
      }
      this.save();
    },
    confirm(entry) {
      entry.confirmed = true;
      entry.state = "queued";
      entry.message = "";
      this.said = "";
      this.save();
      this.watch();
    },
    drop(entry) {
      this.entries = this.entries.filter((e) => e !== entry);
      this.save();
      this.said = entry.state === "queued" ? `Canceled: ${entry.summary}.` : `Discarded: ${entry.summary}.`;
    },
    save() {
      localStorage.setItem(this.store, JSON.stringify(this.entries));
    },
  },
};
