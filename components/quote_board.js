// A watchlist's live rows in one element: the server sends one update per flush for the whole list,
// instead of one per label, and Vue patches only the texts that changed (which the flash script sees).
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
