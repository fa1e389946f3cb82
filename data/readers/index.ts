/** The benchmark readers (see each file's header); everything streams from a ByteSource. */
export { readLines, readTextChunks, readByteChunks, splitLines, type Line, type ReadOptions } from './lines.js';
export { newReport, addMalformed, formatReport, MAX_MALFORMED_KEPT, type ReadReport, type Malformed } from './report.js';
export { parseCsv, readCsv, readCsvRows, type CsvRecord, type CsvRow } from './csv.js';
export { readJsonRecords, type JsonRecord } from './json-records.js';
export { readHh, collectHh, splitTranscript, oneMessage, asTurns, promptMessages, type HhPair, type Split, type ChatTurn, type HhPromptFormat } from './hh.js';
export { readHarmfulQa, collectHarmfulQa, type HarmfulQaRow } from './harmfulqa.js';
export { readAdvBench, collectAdvBench, type AdvBenchRow } from './advbench.js';
export { readLitmus, collectLitmus, parseSafetyLabel, type LitmusRow, type LitmusOptions } from './litmus.js';
export { readPrompts, detectPromptFormat, PROMPT_FORMATS, type PromptRow, type PromptFormat, type PromptOptions } from './prompts.js';
export { readPreferenceFile, type PreferenceRecord, type PreferenceOptions } from './preference.js';
