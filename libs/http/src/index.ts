export { ApiError, httpErrorBody } from './api-error.js';
export { HttpErrorFilter, toHttpError, useHttpErrorFilter } from './http-error.filter.js';
export { refuseDeepBodies, useBodyDepthLimit } from './json-depth.middleware.js';
export { answerClientErrors, clientErrorStatus } from './client-errors.js';
export type { HttpRefusalListener } from './http-error.filter.js';
