import { defineCommand } from '../define.js';

export default defineCommand({
  path: ['SystemUnit', 'Boot'],
  help: 'Restart the appliance services (SSH, HTTPS, HTTP, ACME); sessions are closed, the configuration is kept',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    // The reply goes out first; the restart begins on the next turn of the event loop.
    setImmediate(() => void services.system.reboot(actor));
    return { Message: 'Restarting the appliance services' };
  },
});
