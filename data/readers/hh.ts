/**
 * Anthropic HH-RLHF preference pairs (DSTEER-SPEC.md sections 2 and 8): `.jsonl` or `.jsonl.gz`,
 * each line `{"chosen": transcript, "rejected": transcript}`, a transcript being "\n\nHuman: ..."
 * and "\n\nAssistant: ..." turns. Each transcript is split at its LAST "\n\nAssistant:" into the
 * prompt (everything before) and the answer (everything after, less the one space that follows
 * the marker). A pair whose two prompts differ is not a preference pair over one prompt, so it is
 * reported and skipped.
 *
 * Two prompt formats (the choice changes the vectors, so callers record it in provenance):
 * - `oneMessage` (the authors', our default): ONE user message holding the prompt text as written,
 *   "Human: ..." and "Assistant: ..." turns separated by blank lines, ending in an "Assistant:"
 *   marker; the chat template then adds its own generation prompt.
 * - `asTurns`: each earlier turn as its own chat message (consecutive turns of one role, which HH
 *   contains, are joined with a blank line so templates that demand alternation accept them).
 */
import type { ByteSource } from '../../engine/byte-source.js';
import type { ReadOptions } from './lines.js';
import { readJsonRecords } from './json-records.js';
import { addMalformed, fieldProblem, newReport, type ReadReport } from './report.js';

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/** One transcript split at its last "\n\nAssistant:". */
export interface Split {
  /** Everything before the last "\n\nAssistant:" (starts with "\n\nHuman:" in HH). */
  promptText: string;
  /** Everything after it, without the one leading space. */
  answer: string;
  /** The prompt's turns, in order, contents trimmed. */
  turns: ChatTurn[];
}

export interface HhPair {
  lineNo: number;
  chosen: Split;
  rejected: Split;
}

export type HhPromptFormat = 'one-message' | 'turns';

const ASSISTANT = '\n\nAssistant:';
const TURN = /\n\nHuman:|\n\nAssistant:/g;

/**
 * Splits one transcript, or returns the reason it cannot be used.
 * @example
 *   const s = splitTranscript('\n\nHuman: Hi\n\nAssistant: Hello');
 *   assert(s.promptText === '\n\nHuman: Hi' && s.answer === 'Hello');
 *   assert(JSON.stringify(s.turns) === JSON.stringify([{ role: 'user', content: 'Hi' }]));
 *   assert(splitTranscript('\n\nHuman: Hi') === 'has no "\\n\\nAssistant:" turn');
 */
export function splitTranscript(transcript: string): Split | string {
  const at = transcript.lastIndexOf(ASSISTANT);
  if (at < 0) return 'has no "\\n\\nAssistant:" turn';
  const promptText = transcript.slice(0, at);
  let answer = transcript.slice(at + ASSISTANT.length);
  if (answer.startsWith(' ')) answer = answer.slice(1);
  // A transcript may start with "Human:" without the blank line before it.
  const text = promptText.startsWith('Human:') ? `\n\n${promptText}` : promptText;
  const marks = [...text.matchAll(TURN)];
  if (marks.length === 0) return 'has no "\\n\\nHuman:" turn before its last "\\n\\nAssistant:"';
  if (text.slice(0, marks[0]!.index).trim() !== '') return 'has text before its first "\\n\\nHuman:" turn';
  const turns: ChatTurn[] = marks.map((m, k) => {
    const from = m.index! + m[0].length;
    const to = k + 1 < marks.length ? marks[k + 1]!.index! : text.length;
    return { role: m[0] === ASSISTANT ? 'assistant' : 'user', content: text.slice(from, to).trim() };
  });
  return { promptText, answer, turns };
}

/**
 * The authors' prompt format: one user message, the transcript's own text with its trailing
 * "Assistant:" marker.
 * @example
 *   const split = splitTranscript('\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Sure');
 *   const messages = oneMessage(split);
 *   assert(messages.length === 1 && messages[0].role === 'user');
 *   assert(messages[0].content === 'Human: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant:');
 */
export function oneMessage(split: Split): ChatTurn[] {
  return [{ role: 'user', content: `${split.promptText}${ASSISTANT}`.trimStart() }];
}

/**
 * Each earlier turn as its own chat message (consecutive same-role turns joined by a blank line).
 * @example
 *   const split = splitTranscript('\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Bye\n\nAssistant: Sure');
 *   const turns = asTurns(split).map((t) => `${t.role}: ${t.content}`);
 *   assert(turns.join(' | ') === 'user: Hi | assistant: Hello | user: Bye');
 */
export function asTurns(split: Split): ChatTurn[] {
  const out: ChatTurn[] = [];
  for (const t of split.turns) {
    const last = out[out.length - 1];
    if (last && last.role === t.role) last.content = `${last.content}\n\n${t.content}`;
    else out.push({ ...t });
  }
  return out;
}

/** The chat messages of a prompt in the named format. */
export function promptMessages(split: Split, format: HhPromptFormat): ChatTurn[] {
  return format === 'turns' ? asTurns(split) : oneMessage(split);
}

/**
 * Streams the usable pairs of an HH-RLHF file; malformed rows go to `report`.
 * @example
 *   const row = { chosen: '\n\nHuman: Hi\n\nAssistant: Hello', rejected: '\n\nHuman: Hi\n\nAssistant: Go away' };
 *   const src = new MemorySource('hh.jsonl', new TextEncoder().encode(JSON.stringify(row) + '\n'));
 *   const answers = [];
 *   for await (const { chosen, rejected } of readHh(src)) answers.push(chosen.answer, rejected.answer);
 *   assert(answers.join(' / ') === 'Hello / Go away');
 */
export async function* readHh(src: ByteSource, report: ReadReport = newReport(src.name), opts: ReadOptions = {}): AsyncGenerator<HhPair> {
  for await (const { value, lineNo } of readJsonRecords(src, report, opts)) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      addMalformed(report, lineNo, 'not a JSON object');
      continue;
    }
    const row = value as Record<string, unknown>;
    const problem = fieldProblem(row, 'chosen') ?? fieldProblem(row, 'rejected');
    if (problem) {
      addMalformed(report, lineNo, problem);
      continue;
    }
    const chosen = splitTranscript(row.chosen as string);
    if (typeof chosen === 'string') {
      addMalformed(report, lineNo, `field "chosen" ${chosen}`);
      continue;
    }
    const rejected = splitTranscript(row.rejected as string);
    if (typeof rejected === 'string') {
      addMalformed(report, lineNo, `field "rejected" ${rejected}`);
      continue;
    }
    if (chosen.promptText !== rejected.promptText) {
      addMalformed(report, lineNo, 'chosen and rejected have different prompts');
      continue;
    }
    report.used++;
    yield { lineNo, chosen, rejected };
  }
}

/** Reads a whole HH-RLHF file into memory (small files and tests). */
export async function collectHh(src: ByteSource, opts: ReadOptions = {}): Promise<{ rows: HhPair[]; report: ReadReport }> {
  const report = newReport(src.name);
  const rows: HhPair[] = [];
  for await (const r of readHh(src, report, opts)) rows.push(r);
  return { rows, report };
}
