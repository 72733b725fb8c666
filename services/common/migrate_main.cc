// lc-migrate: applies db/migrations to the database named by the LC_MYSQL_* variables.
#include "absl/strings/str_cat.h"
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
  std::string dir = EnvString("LC_MIGRATIONS_DIR", "db/migrations");
  std::vector<Migration> migrations = OrExit(LoadMigrations(dir));
  auto pool = MysqlPool::Create(config);
  if (!pool.ok()) {
    spdlog::error("{}", pool.status().message());
    return 1;
  }
  absl::StatusOr<int> applied = ApplyMigrations(**pool, migrations);
  if (!applied.ok()) {
    spdlog::error("migration failed: {}", applied.status().message());
    return 1;
  }
  spdlog::info("database {} is at version {} ({} applied now)", config.database,
               migrations.empty() ? 0 : migrations.back().version, *applied);
  return 0;
}
