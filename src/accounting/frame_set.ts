/**
 * A set of physical frame numbers that answers "where is this PFN in the sorted
 * list of distinct frames" in constant time.
 *
 * A machine-wide scan gathers millions of PFN references in address order, which
 * is random order for PFNs: sorting them costs ~170 ms per million in V8 and a
 * Map ~100 ns per lookup. Instead, a bitmap per 4096 frames (512 bytes,
 * allocated only where frames are, found by array index) plus a rank table make
 * insertion, ordering and lookup linear, and memory proportional to the frames
 * added. Each chunk remembers which of its words are in use, so building costs
 * O(frames), not O(chunk size).
 *
 * @module
 */

const FRAMES_PER_CHUNK = 4096;
const WORDS_PER_CHUNK = FRAMES_PER_CHUNK / 32;

interface Chunk {
  bits: Uint32Array;
  /** Indexes of the non-zero words of `bits`, in insertion order. */
  usedWords: number[];
  /** Number of set bits in the words before each word (filled by `build`). */
  rankBefore: Uint16Array;
  /** Number of set bits in all earlier chunks (filled by `build`). */
  base: number;
}

/** Distinct frames, sorted, with O(1) lookup of a frame's position. */
export interface FrameSet {
  /** The distinct PFNs, ascending. */
  readonly pfns: Float64Array;
  /** Position of `pfn` in {@link FrameSet.pfns}, or -1 when absent. */
  indexOf(pfn: number): number;
}

/** Collects PFNs, then freezes them into a {@link FrameSet}. */
export interface FrameSetBuilder {
  /** Adds a frame number (duplicates are fine). */
  add(pfn: number): void;
  /** Freezes the set; the builder must not be used afterwards. */
  build(): FrameSet;
}

/** Number of set bits in a 32-bit word. */
export function popcount32(word: number): number {
  let v = word - ((word >>> 1) & 0x5555_5555);
  v = (v & 0x3333_3333) + ((v >>> 2) & 0x3333_3333);
  return (((v + (v >>> 4)) & 0x0f0f_0f0f) * 0x0101_0101) >>> 24;
}

/**
 * Creates an empty builder.
 *
 * @example
 * ```ts
 * const builder = frameSetBuilder();
 * builder.add(42); builder.add(7); builder.add(42);
 * const set = builder.build();
 * set.pfns; // Float64Array [7, 42]
 * set.indexOf(42); // 1
 * ```
 */
export function frameSetBuilder(): FrameSetBuilder {
  // Indexed by floor(pfn / FRAMES_PER_CHUNK): an array index, no hashing.
  const chunks: (Chunk | undefined)[] = [];
  const keys: number[] = [];

  function add(pfn: number): void {
    const key = Math.floor(pfn / FRAMES_PER_CHUNK);
    let chunk = chunks[key];
    if (chunk === undefined) {
      chunk = {
        bits: new Uint32Array(WORDS_PER_CHUNK),
        usedWords: [],
        rankBefore: new Uint16Array(WORDS_PER_CHUNK),
        base: 0,
      };
      chunks[key] = chunk;
      keys.push(key);
    }
    const offset = pfn - key * FRAMES_PER_CHUNK;
    const word = offset >>> 5;
    if (chunk.bits[word] === 0) chunk.usedWords.push(word);
    chunk.bits[word] |= 1 << (offset & 31);
  }

  function build(): FrameSet {
    keys.sort((a, b) => a - b);
    let total = 0;
    for (const key of keys) {
      const chunk = chunks[key]!;
      chunk.usedWords.sort((a, b) => a - b);
      chunk.base = total;
      // Only used words get a rank: lookups of unused words stop at the bit test.
      let inChunk = 0;
      for (const word of chunk.usedWords) {
        chunk.rankBefore[word] = inChunk;
        inChunk += popcount32(chunk.bits[word]);
      }
      total += inChunk;
    }
    const pfns = new Float64Array(total);
    let position = 0;
    for (const key of keys) {
      const { bits, usedWords } = chunks[key]!;
      const first = key * FRAMES_PER_CHUNK;
      for (const word of usedWords) {
        let value = bits[word];
        while (value !== 0) {
          const lowest = value & -value;
          pfns[position++] = first + word * 32 + (31 - Math.clz32(lowest));
          value ^= lowest;
        }
      }
    }
    function indexOf(pfn: number): number {
      const key = Math.floor(pfn / FRAMES_PER_CHUNK);
      const chunk = chunks[key];
      if (chunk === undefined) return -1;
      const offset = pfn - key * FRAMES_PER_CHUNK;
      const word = offset >>> 5;
      const bit = offset & 31;
      const bits = chunk.bits[word];
      if ((bits & (1 << bit)) === 0) return -1;
      const below = bit === 0 ? 0 : bits & (0xffff_ffff >>> (32 - bit));
      return chunk.base + chunk.rankBefore[word] + popcount32(below);
    }
    return { pfns, indexOf };
  }

  return { add, build };
}
