// pages: the daemon's HTML, as pure functions from a view to a document string.
export { escapeHtml, renderPage, type PageOptions } from './layout.ts';
export { renderCopyButton } from './parts.ts';
export { renderInputForm, type InputField, type InputFormView } from './input-form.ts';
export { renderDevicePage, type DeviceView } from './device.ts';
export { renderResult, type ResultView } from './result.ts';
