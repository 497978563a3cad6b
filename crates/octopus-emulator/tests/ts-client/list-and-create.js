// Smoke test of octopus-emulator with Octopus's official TypeScript client (reference/octopus-api.md §4).
// OCTOPUS_URL=http://127.0.0.1:8065 OCTOPUS_API_KEY=API-XXXXXXXXXXXXXXXX OCTOPUS_SPACE=Default node list-and-create.js
const { Client, SpaceRepository } = require("@octopusdeploy/api-client");

async function main() {
  const client = await Client.create({
    userAgentApp: "emulator-smoke",
    instanceURL: process.env.OCTOPUS_URL,
    apiKey: process.env.OCTOPUS_API_KEY,
  });
  client.setOnResponseCallback((r) => console.error(`<- ${r.statusCode} ${r.method} ${r.url}`));

  const spaces = await new SpaceRepository(client).list({ skip: 0, take: 30 });
  spaces.Items.forEach((s) => console.log(`space ${s.Id} "${s.Name}" default=${s.IsDefault}`));

  const spaceName = process.env.OCTOPUS_SPACE || "Default";
  // v3 has no worker repositories: low-level client + URI templates ("~/" = instanceURL).
  const pools = await client.request("~/api/{spaceId}/workerpools{?skip,take,ids,partialName}", { spaceName, skip: 0, take: 30 });
  pools.Items.forEach((p) => console.log(`pool ${p.Id} "${p.Name}" ${p.WorkerPoolType} default=${p.IsDefault}`));
  const pool = pools.Items.find((p) => p.IsDefault) || pools.Items[0];

  const worker = await client.doCreate("~/api/{spaceId}/workers", {
    Name: "polling-worker-01",
    IsDisabled: false,
    WorkerPoolIds: [pool.Id],
    Endpoint: {
      CommunicationStyle: "TentacleActive",
      Uri: "poll://abcdefghijklmnopqrst/",
      Thumbprint: "8A9F3B6D2C7E1F0A4B5C6D7E8F9A0B1C2D3E4F5A",
    },
  }, { spaceName });
  console.log(`created ${worker.Id} in ${worker.SpaceId} health=${worker.HealthStatus}`);
}

main().catch((e) => {
  console.error(`ERROR ${e.StatusCode ?? ""} ${e.ErrorMessage ?? e.message}`);
  process.exit(1);
});
