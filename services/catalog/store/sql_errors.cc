#include "services/catalog/store/sql_errors.h"

#include <cppconn/exception.h>

namespace livecommerce::catalog {

std::optional<int> ExecuteUnlessRefused(common::SqlStatement statement, int error_code) {
  try {
    return statement.Execute();
  } catch (const sql::SQLException& e) {
    if (e.getErrorCode() == error_code) return std::nullopt;
    throw;
  }
}

}  // namespace livecommerce::catalog
