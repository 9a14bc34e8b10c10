// A watchlist's live rows in one element: the server sends one update per flush for the whole list,
// instead of one per label, and Vue patches only the texts that changed (which the flash script sees).
// The rows' mini charts arrive by showLines a few times a minute (components/sparklines.py), never per tick.
export default {
  template: `
    <div class="w-full">
      <div v-if="!parsed.length" class="text-gray-500 text-sm">{{ empty }}</div>
      <div v-for="row in parsed" :key="row[0]" class="w-full flex items-center no-wrap py-1 gap-2"
           :data-testid="'watch-' + row[0]">
        <div class="flex flex-col flex-1 min-w-0">
          <a :href="'/stock/' + row[0]" class="font-semibold no-underline" style="color: inherit">{{ row[0] }}</a>
          <span class="text-xs text-gray-500 sw-num">{{ row[2] }} × {{ row[3] }}</span>
        </div>
        <svg v-if="charts" viewBox="0 0 64 24" width="64" height="24" class="flex-none"
             :class="sign(row[4])" :data-testid="'watch-spark-' + row[0]"
             :data-state="row[0] in lines ? (lines[row[0]] ? 'drawn' : 'empty') : 'loading'" aria-hidden="true">
          <path v-if="lines[row[0]]" :d="lines[row[0]]" fill="none" stroke="currentColor" stroke-width="1.5"
                stroke-linejoin="round" stroke-linecap="round" />
          <line v-else x1="0" y1="12" x2="64" y2="12" stroke="currentColor" stroke-width="1"
                stroke-dasharray="2 3" :class="row[0] in lines ? 'text-gray-400' : 'text-gray-300 sw-pulse'" />
        </svg>
        <div class="flex flex-col items-end">
          <span class="font-medium sw-num sw-tick" :data-testid="'watch-last-' + row[0]">{{ row[1] }}</span>
          <span class="text-xs sw-num" :class="sign(row[4])">{{ row[4] }}</span>
        </div>
        <q-btn flat round dense size="sm" color="grey-6" icon="close" :aria-label="'Remove ' + row[0]"
               :data-testid="'unwatch-' + row[0]" @click="$emit('remove', row[0])" />
      </div>
    </div>`,
  props: {
    rows: Array, // one string per symbol: "symbol\tlast\tbid\task\tchange %"
    empty: String,
    charts: Boolean, // whether rows show mini charts
  },
  data() {
    return { lines: {} }; // symbol -> SVG path of its day; "" while there is too little to draw
  },
  computed: {
    parsed() {
      return this.rows.map((row) => row.split("\t"));
    },
  },
  methods: {
    showLines(lines) {
      this.lines = lines;
    },
    sign(text) {
      if (!text || /^[+-]?0(\.0+)?%$/.test(text)) return "";
      return text.startsWith("-") ? "sw-down" : "sw-up";
    },
  },
};
