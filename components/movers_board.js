// One list of today's movers (gainers, losers or most active) in one element: the server sends the rows of the
// whole list once per flush, and Vue patches only the texts that changed.
export default {
  template: `
    <div class="w-full">
      <div v-if="!parsed.length" class="text-gray-500 text-sm">{{ empty }}</div>
      <a v-for="(row, place) in parsed" :key="row[0]" :href="'/stock/' + row[0]"
         class="w-full flex items-center no-wrap py-1 gap-2 no-underline" style="color: inherit"
         :data-testid="kind + '-' + row[0]">
        <span class="text-xs text-gray-400 w-4 text-right">{{ place + 1 }}</span>
        <div class="flex flex-col flex-1 min-w-0 overflow-hidden">
          <span class="font-semibold">{{ row[0] }}</span>
          <span class="text-xs text-gray-500 truncate">{{ names[row[0]] || '' }}</span>
        </div>
        <div class="flex flex-col items-end">
          <span class="font-medium sw-num sw-tick" :data-testid="kind + '-last-' + row[0]">{{ row[1] }}</span>
          <span v-if="notes[row[0]]" class="text-xs sw-num text-gray-500" :data-testid="kind + '-note-' + row[0]">
            {{ notes[row[0]] }}</span>
          <span v-else class="text-xs sw-num" :class="sign(row[4])" :data-testid="kind + '-change-' + row[0]">
            {{ row[4] }}</span>
        </div>
      </a>
    </div>`,
  props: {
    rows: Array, // one string per symbol: "symbol\tlast\tbid\task\tchange %"
    names: Object, // symbol -> company name
    notes: Object, // symbol -> what replaces the change (shares traded, for the most active)
    kind: String,
    empty: String,
  },
  computed: {
    parsed() {
      return this.rows.map((row) => row.split("\t"));
    },
  },
  methods: {
    sign(text) {
      if (!text || /^[+-]?0(\.0+)?%$/.test(text)) return "";
      return text.startsWith("-") ? "sw-down" : "sw-up";
    },
  },
};
