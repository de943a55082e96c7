// Every command, registered on the program.
import type { Command } from 'commander';
import { registerAdmin } from './admin.ts';
import { registerCompletion } from './completion.ts';
import { registerDaemon } from './daemon.ts';
import { registerExport } from './export.ts';
import { registerGet } from './get.ts';
import { registerHeaders } from './headers.ts';
import { registerList } from './list.ts';
import { registerLogin } from './login.ts';
import { registerManage } from './manage.ts';
import { registerMcpServe } from './mcp-serve.ts';
import { registerMcpConnect } from './mcp-connect.ts';
import { registerRefresh } from './refresh.ts';
import { registerRoute } from './route.ts';
import { registerRunProxy } from './run-proxy.ts';
import { registerSetup } from './setup.ts';
import { registerUi } from './ui.ts';

export function registerCommands(program: Command): void {
  registerSetup(program);
  registerList(program);
  registerLogin(program);
  registerGet(program);
  registerHeaders(program);
  registerRefresh(program);
  registerRunProxy(program);
  registerRoute(program);
  registerExport(program);
  registerManage(program);
  registerAdmin(program);
  registerDaemon(program);
  registerUi(program);
  registerMcpConnect(program);
  registerMcpServe(program);
  registerCompletion(program);
}
