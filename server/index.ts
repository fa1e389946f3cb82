/** The OpenAI-compatible server (see server/README.md): start it with startServer. */
export { startServer, type RunningServer, type ServedModel, type ServerOptions } from './http.js';
export { ApiError, Detok, parseChatRequest, parseCompletionRequest, type ChatRequest, type CompletionRequest, type SteeringRequest } from './protocol.js';
export { QueueFullError, Scheduler, type Job, type JobHandle, type JobResult, type PromptLogprobs, type SchedulerOptions, type TokenEvent } from './scheduler.js';
