// SPDX-License-Identifier: MIT
// The data json-graphql-server serves for tests/integration/test_realapp_graphql.sh: tenants
// 1..REALAPP_TENANTS, projects 1..REALAPP_PROJECTS (project N in tenant N) and tasks
// 1..REALAPP_TASKS (task N in project ((N - 1) % PROJECTS) + 1), so that what a session creates
// gets the next ids. json-graphql-server makes the schema (Tenant, Project, Task, their
// create/update/remove mutations and the tenant_id, project_id relations) from it.
const n = (name) => parseInt(process.env[name], 10);
const range = (k) => Array.from({ length: k }, (_, i) => i + 1);
const projects = n("REALAPP_PROJECTS");
module.exports = {
    tenants: range(n("REALAPP_TENANTS")).map((i) => ({ id: i, name: `other-${i}` })),
    projects: range(projects).map((i) => ({ id: i, name: `other-project-${i}`, tenant_id: i })),
    tasks: range(n("REALAPP_TASKS")).map((i) => ({
        id: i,
        title: `other-task-${i}`,
        done: false,
        project_id: ((i - 1) % projects) + 1,
    })),
};
