// The portfolio's headline (value and change), live from the server, and scrubbed in the browser: while the
// pointer (or a finger) moves across the chart, it shows the value and the change at that moment, and returns to
// the live figures when the pointer leaves. No message goes to the server while scrubbing.
const headlines = {}; // source (the chart's test id) -> its headline
const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const MOMENTS = {
  time: { hour: "numeric", minute: "2-digit" },
  datetime: { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" },
  date: { month: "short", day: "numeric", year: "numeric" },
};

function signed(amount) {
  return (amount < 0 ? "-" : "+") + usd.format(Math.abs(amount));
}

function percent(amount) {
  const text = amount.toFixed(2);
  if (/^-?0\.00$/.test(text)) return "0.00%";
  return (amount > 0 ? "+" : "") + text + "%";
}

// Called by the chart's tooltip formatter with the points under the pointer, the range's first value and how the
// moment reads ("time", "datetime" or "date"); returns the moment's label, which the tooltip shows over the line.
// Called with no points when the pointer leaves.
window.swScrub = (source, points, base, moment) => {
  const headline = headlines[source];
  const point = points && points[0];
  if (!point) {
    if (headline) headline.scrub = null;
    return "";
  }
  const [t, value] = point.value;
  const when = new Date(t).toLocaleString("en-US", MOMENTS[moment] || MOMENTS.datetime);
  if (headline) {
    const change = value - base;
    headline.scrub = {
      value: usd.format(value),
      change: `${signed(change)} (${percent(base ? (change / base) * 100 : 0)}) ${when}`,
      cls: change > 0 ? "sw-up" : change < 0 ? "sw-down" : "text-gray-500",
    };
  }
  return when;
};

export default {
  template: `
    <div class="flex flex-col gap-0" :data-scrubbing="scrub ? 'yes' : 'no'">
      <span class="text-gray-500">{{ title }}</span>
      <span class="text-4xl font-semibold sw-num" data-testid="equity">{{ shown.value }}</span>
      <span class="sw-num" :class="shown.cls" data-testid="day-change">{{ shown.change }}</span>
    </div>`,
  props: {
    title: String,
    value: String,
    change: String,
    changeClass: String,
    source: String,
  },
  data() {
    return { scrub: null };
  },
  computed: {
    shown() {
      return this.scrub || { value: this.value, change: this.change, cls: this.changeClass };
    },
  },
  mounted() {
    headlines[this.source] = this;
  },
  unmounted() {
    if (headlines[this.source] === this) delete headlines[this.source];
  },
};
