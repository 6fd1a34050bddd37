import { defineCommand } from '../../define.js';

export default defineCommand({
  path: ['SystemUnit', 'User', 'List'],
  help: 'List the login accounts with their roles and number of SSH keys',
  role: 'Admin',
  params: {},
  async run(_args, { services }) {
    const users = services.accounts.users();
    return { Count: users.length, User: users.map((u) => ({ Name: u.name, Role: u.role, Keys: u.keys })) };
  },
});
