export { ApiError, httpErrorBody } from './api-error.js';
export { HttpErrorFilter, toHttpError, useHttpErrorFilter } from './http-error.filter.js';
