// lc-migrate: applies each service's migrations (db/migrations/<service>/) to the database named by
// the LC_MYSQL_* variables. LC_MIGRATIONS_DIR is the root (db/migrations); LC_MIGRATE_SERVICES
// names the services to migrate (comma or space separated), every one under the root when unset:
// a service's deployment migrates its own schema only (k8s/), scripts/run and scripts/test all.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/logging.h"
#include "services/common/migrate.h"
#include "services/common/mysql_client.h"

int main() {
  using namespace livecommerce::common;
  if (absl::Status s = InitLogging("migrate"); !s.ok()) ExitWithConfigError(s);
  MysqlConfig config = OrExit(LoadMysqlConfig());
  config.pool_size = 1;
  std::string root = EnvString("LC_MIGRATIONS_DIR", "db/migrations");
  std::vector<std::string> services;
  for (absl::string_view name : absl::StrSplit(EnvString("LC_MIGRATE_SERVICES", ""),
                                               absl::ByAnyChar(", "), absl::SkipEmpty())) {
    services.emplace_back(name);
  }
  if (services.empty()) services = OrExit(MigrationServices(root));
  auto pool = MysqlPool::Create(config);
  if (!pool.ok()) {
    spdlog::error("{}", pool.status().message());
    return 1;
  }
  for (const std::string& service : services) {
    std::vector<Migration> migrations = OrExit(LoadMigrations(absl::StrCat(root, "/", service)));
    absl::StatusOr<int> applied = ApplyMigrations(**pool, service, migrations);
    if (!applied.ok()) {
      spdlog::error("{}: migration failed: {}", service, applied.status().message());
      return 1;
    }
    spdlog::info("{} in database {} is at version {} ({} applied now)", service, config.database,
                 migrations.empty() ? 0 : migrations.back().version, *applied);
  }
  return 0;
}
